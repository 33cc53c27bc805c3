"""The engines, in three rooms: gtp/ (the Go Text Protocol for the GUIs), katago/ (KataGo's
JSON analysis protocol for KaTrain) and match/ (our engine against another GTP engine).
lines.py, the bounded line reader, serves both protocols."""
