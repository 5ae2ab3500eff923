"""Entry point: `python -m localnode.engine <task_dir>`."""
import sys

from localnode.engine.threads import limit_threads

if __name__ == "__main__":
    if len(sys.argv) > 1:
        limit_threads(sys.argv[-1])  # before the native libraries load and size their thread pools
    from localnode.engine.pipeline import main  # noqa: E402 - imports them
    sys.exit(main(sys.argv[1:]))
