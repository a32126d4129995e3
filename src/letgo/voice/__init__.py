"""The voice stage: sentences become clips.

The engines behind one small interface, the synthesis cache, the speech check (with its
recogniser) and the clip layer (pydub).
"""
