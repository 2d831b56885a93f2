"""The example app's five stacks: composition only, joined by typed constructor arguments.

StorageStack <- ComputeStack <- ApiStack <- MonitoringStack, and StorageStack <-
AnalyticsStack (with the compute stack's schema); references go one way only.
"""

from .analytics import AnalyticsStack
from .api import ApiStack
from .compute import ComputeStack
from .monitoring import MonitoringStack
from .storage import StorageStack

__all__ = ["AnalyticsStack", "ApiStack", "ComputeStack", "MonitoringStack", "StorageStack"]
