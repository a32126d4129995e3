"""The sound stage: the timeline and everything heard on it.

The timeline (every clip, cue and chapter placed, fitted to the length asked for), the block
mixer with its levels and limiter, the backgrounds, the bell, and the signal processing they share.
"""
