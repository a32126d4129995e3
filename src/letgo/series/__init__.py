"""Series: a course of sessions (or one set per listener) built, tagged and made listenable.

plan.py reads and checks a TOML plan into episodes (and finds the plans beside the templates);
manifest.py is the typed, validated record of what a build made in its folder, shared by build,
serve and listen; runner.py runs sessions side by side on local processes or a Dask cluster;
build.py builds a plan incrementally into a folder; listen.py writes the playlist, podcast feed
and player page; serve.py serves a built folder over HTTP with range requests.
"""
