"""A quiet console: TensorFlow's and MediaPipe's native start-up log lines filtered out.

TensorFlow and MediaPipe log from C++ (absl, glog, TF Lite) straight to file
descriptor 2, partly before any logging library is configured ("All log
messages before absl::InitializeLog() is called are written to STDERR"), so
environment variables silence only some of them. :func:`quiet_native_logs`
sets those variables and, while its block runs, sends descriptor 2 to a
temporary file; on exit it writes back every line that is not such a log line
(Python warnings, tracebacks, anything else stays visible, only later).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile

__all__ = ["quiet_native_logs", "is_native_log_line"]

#: Environment read by TensorFlow / glog / MediaPipe at import: errors only.
QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2"}

_NATIVE = re.compile(
    r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\]"  # absl / glog info, warning
    r"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ cuda\w*\.cc:\d+\]"  # no GPU on this machine
    r"|WARNING: All log messages before absl::InitializeLog\(\)"
    r"|WARNING: Logging before InitGoogle\(\)"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate"
    r"|To enable the following instructions: .* rebuild TensorFlow"
    r"|This TensorFlow binary is optimized to use available CPU instructions)"
)


def is_native_log_line(line: str) -> bool:
    """True for a TensorFlow / MediaPipe native log line (absl, glog, TF Lite, oneDNN, cudart).

    Examples
    --------
    >>> is_native_log_line("I0000 00:00:1796009646.511942   14297 port.cc:153] oneDNN custom")
    True
    >>> is_native_log_line("UserWarning: something else")
    False
    >>> is_native_log_line("E0000 00:00:1.2   14 graph.cc:9] a real error stays")
    False
    """
    return bool(_NATIVE.match(line))


@contextlib.contextmanager
def quiet_native_logs(enabled: bool = True):
    """Filter native log lines out of descriptor 2 while the block runs.

    Parameters
    ----------
    enabled : bool, default=True
        If False, do nothing (``--verbose``).

    Examples
    --------
    >>> with quiet_native_logs():
    ...     import tensorflow  # doctest: +SKIP
    """
    if not enabled:
        yield
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):  # no real descriptor (e.g. captured)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = [
                line
                for line in tmp.read().decode(errors="replace").splitlines(keepends=True)
                if not is_native_log_line(line)
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()
