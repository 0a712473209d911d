"""Service specifications: typed models, parsing with field paths and lines, templates, image refs.

Pure functions over text; the service commands call them. Imports only `snowport.errors`,
`snowport.names` and third-party libraries.
"""

from snowport.spec.errors import SpecError
from snowport.spec.images import ImageRef, ImageRefError, parse_image
from snowport.spec.models import (
    Capabilities,
    Container,
    ContainerSecret,
    Endpoint,
    Probe,
    ResourceAmounts,
    Resources,
    ResourceTotals,
    ServiceRole,
    ServiceSpec,
    Spec,
    Volume,
    VolumeMount,
    effective_requests,
)
from snowport.spec.parse import parse_spec, parse_stored_spec
from snowport.spec.quantities import parse_cpu, parse_duration, parse_memory, parse_quantity, parse_size
from snowport.spec.templates import render_template

__all__ = [
    "Capabilities",
    "Container",
    "ContainerSecret",
    "Endpoint",
    "ImageRef",
    "ImageRefError",
    "Probe",
    "ResourceAmounts",
    "ResourceTotals",
    "Resources",
    "ServiceRole",
    "ServiceSpec",
    "Spec",
    "SpecError",
    "Volume",
    "VolumeMount",
    "effective_requests",
    "parse_cpu",
    "parse_duration",
    "parse_image",
    "parse_memory",
    "parse_stored_spec",
    "parse_quantity",
    "parse_size",
    "parse_spec",
    "render_template",
]
