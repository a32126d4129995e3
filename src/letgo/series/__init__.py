"""Series: a course of sessions (or one set per listener) built, tagged and made listenable.

plan.py reads and checks a TOML plan into episodes; build.py builds them in parallel
(local processes or a Dask cluster) and incrementally; listen.py writes the playlist, podcast
feed and player page; serve.py serves a built folder over HTTP with range requests.
"""
