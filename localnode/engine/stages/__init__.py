"""One module per stage, each with `run(ws, options, report)`; see localnode.engine.pipeline."""
