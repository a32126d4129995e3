"""The sound stage: the timeline and everything heard on it.

The timeline (every clip, cue and chapter placed, fitted to the length asked for), the levels
planned from measurements (`levels`), the block mixer with the bed's envelope (`mix`), the
backgrounds, the bell, and the signal processing they share (`dsp`: filters, BS.1770
loudness, decibels, equal-power fades, the true-peak limiter).
"""
