"""The file stage: what reaches the disk, and how.

Encoding blocks into audio files (`export`: the split MP3 encode, and `mp3join` its frame
join), the format table (`formats`), tags and chapters (`tags` for MP3, `basictags` for the
rest), transcripts, every write complete-or-absent (`atomic`), ffmpeg found, its command lines
built and files probed in one place (`ffmpeg`), and user files read safely (`reading`, with
the one TOML reader).
"""
