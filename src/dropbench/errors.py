"""Errors a user can fix. The CLI prints their message as one line and exits non-zero."""


class DropbenchError(Exception):
    """Base class: the message says what is wrong and what to do."""


class DataError(DropbenchError):
    """A data set is unknown, unavailable or malformed."""


class CheckpointError(DropbenchError):
    """A checkpoint directory is missing, truncated, tampered with or inconsistent."""


class ProfileError(DropbenchError):
    """A hardware profile is unknown, invalid or cannot run on this machine."""


class ConfigError(DropbenchError):
    """An unknown method, model or hyper-parameter, or a value out of range."""


class TrainingDiverged(DropbenchError):
    """The loss became NaN or infinite; the last good weights were kept."""


class ExportError(DropbenchError):
    """ONNX export failed or onnxruntime disagrees with torch."""


class ClusterError(DropbenchError):
    """Ray is missing, the cluster cannot be reached, lacks a profile's node or a task's resources, or a task failed."""
