"""The voice stage: sentences become clips.

The engines behind one small interface, the synthesis cache, and the clip layer (pydub).
"""
