"""The plant definition: zones, equipment, tags, cameras, badges, fences, meters."""

from plant.loader import PlantFileError, default_plant_path, load_plant
from plant.schema import Plant

__all__ = ["Plant", "PlantFileError", "default_plant_path", "load_plant"]
