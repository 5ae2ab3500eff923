"""Aerie's built-in photogrammetry engine: geotagged photos in, georeferenced orthophoto/DSM/point cloud out.

Run as `python -m localnode.engine <task_dir>`; see pipeline.py for the contract with the node server.
"""
