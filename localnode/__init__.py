"""The built-in processing node: a NodeODM-API server (localnode.server) and its engine (localnode.engine).

It shares no code with the web app; the only contract between them is ../shared/docs/NODEODM.md.
"""
