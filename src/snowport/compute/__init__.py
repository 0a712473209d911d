"""Background compute: the controller runner and the reconcilers that keep objects in their desired state."""

from snowport.compute.runner import ControllerRunner, KeyFailure, Reconciler, ReconcilerStatus

__all__ = ["ControllerRunner", "KeyFailure", "Reconciler", "ReconcilerStatus"]
