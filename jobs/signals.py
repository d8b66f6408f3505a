"""The notices a job's lifecycle sends upward, so the features above it (comparisons, schedules) act on them
without the lifecycle knowing they exist. Receivers are connected in the apps' ready()."""

from django.dispatch import Signal

# A job reached Completed, Completed with errors, Failed or Canceled, its logs written: job=the BatchJob.
job_finished = Signal()
# Retry failed started a new job for a Failed or Canceled one: job=the job retried, retry=the new job.
job_retried = Signal()
