"""RQ jobs. Each job runs inside an app context (jobs.runtime.app_job) and is named by string in webapp/queue.py."""
