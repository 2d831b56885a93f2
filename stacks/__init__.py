"""The example app's four stacks: composition only, joined by typed constructor arguments.

StorageStack <- ComputeStack <- ApiStack <- MonitoringStack; references go one way only.
"""

from .api import ApiStack
from .compute import ComputeStack
from .monitoring import MonitoringStack
from .storage import StorageStack

__all__ = ["ApiStack", "ComputeStack", "MonitoringStack", "StorageStack"]
