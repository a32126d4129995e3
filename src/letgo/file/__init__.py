"""The file stage: what reaches the disk, and how.

Encoding blocks into audio files (the format table, the split MP3 encode and its frame join),
tags and chapters, transcripts, every write complete-or-absent, ffmpeg found and called in one
place, and user files read safely.
"""
