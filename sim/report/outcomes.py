"""How an agent process ended, in the words of the summary and the report."""

__all__ = ["OK", "FINISHED", "CRASHED", "KILLED", "FAILED", "BAD_OUTCOMES"]

# outcomes: OK stopped by the launcher with exit 0; FINISHED its tree ended by itself with exit 0;
# CRASHED exited non-zero or died by a signal before it was asked to stop; KILLED ignored
# SIGTERM for the grace period; FAILED exited non-zero after SIGTERM.
OK, FINISHED, CRASHED, KILLED, FAILED = "ok", "finished", "crashed", "killed", "failed"
BAD_OUTCOMES = (CRASHED, KILLED, FAILED)
