"""Entry point: `python -m localnode.engine <task_dir>`."""
import sys

from localnode.engine.pipeline import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
