"""Dependencies shared by the catalog routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from servicekit.app import Runtime

from ..service_layer import DocumentPipeline
from ..settings import CatalogSettings


def get_pipeline(runtime: Runtime) -> DocumentPipeline:
    pipeline: DocumentPipeline = runtime.extras["documents"]
    return pipeline


def get_settings(runtime: Runtime) -> CatalogSettings:
    settings = runtime.settings
    assert isinstance(settings, CatalogSettings)
    return settings


Pipeline = Annotated[DocumentPipeline, Depends(get_pipeline)]
Settings = Annotated[CatalogSettings, Depends(get_settings)]
