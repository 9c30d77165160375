"""Colour scales of the scene (RGB 0-255), one place for the page, the legend and the tests."""

from __future__ import annotations

RISK = {
    "red": (220, 38, 38),
    "orange": (249, 115, 22),
    "yellow": (234, 179, 8),
    "blue": (37, 99, 235),
}
STATE = {
    "run": (120, 170, 135),  # green-ish grey
    "idle": (150, 155, 162),
    "fault": (230, 55, 45),
    "maintenance": (242, 170, 35),
    "stopped": (70, 72, 80),
    "": (176, 181, 190),  # no state tag: buildings, racks, tanks
}
ROLE = {
    "employee": (34, 211, 238),
    "contractor": (167, 139, 250),
    "visitor": (244, 114, 182),
    "driver": (226, 232, 240),
}
SEVERITY = {  # hazard label colour by limit state: ok, H/L, HH/LL, no value
    0: (125, 211, 252),
    1: (251, 191, 36),
    2: (248, 72, 72),
    -1: (120, 125, 135),
}
FENCE = {
    "forbidden": (239, 68, 68),
    "authorized": (251, 146, 60),
    "dwell": (250, 204, 21),
    "speed": (96, 165, 250),
    "hazard": (192, 132, 252),  # a major hazard source's fence (GB 18218-2018), drawn with the fences
}
ALARM = {  # alarm markers by priority (the banner's plant colors)
    "urgent": (229, 72, 77),
    "high": (247, 107, 21),
    "medium": (255, 197, 61),
    "low": (62, 155, 255),
}
GROUND = (28, 32, 38)
ROAD = (62, 67, 76)
CAMERA = (56, 189, 248)
MUSTER = (34, 197, 94)
SOS = (255, 40, 40)
DANGER = (229, 72, 77)  # an emergency's danger area
ROUTE = (34, 197, 94)  # evacuation routes
ROUTE_OUT = (255, 138, 0)  # the way out of a person inside the danger area
RESOURCE = (255, 197, 61)  # emergency resources
EMISSION = {  # a stack's column: its highest pollutant now against that pollutant's hourly limit
    "ok": (34, 197, 94),  # under 80 %
    "near": (255, 197, 61),  # 80 % up to the limit
    "over": (229, 72, 77),  # over the limit
    "none": (110, 119, 129),  # no value
}
ENERGY = {  # the optional energy layer: a zone's energy per tonne against its limit, else its share of the site's
    "within": (34, 197, 94),  # intensity under 90 % of its limit
    "near": (255, 197, 61),  # 90 % up to the limit
    "over": (229, 72, 77),  # over the limit
    "s0": (30, 58, 95),  # share of the site's metered energy (kgce) in the last 24 h: under 2 %
    "s1": (37, 99, 165),  # 2-5 %
    "s2": (59, 130, 246),  # 5-15 %
    "s3": (147, 197, 253),  # 15 % and more
    "none": (110, 119, 129),  # no meter located in the zone, or no reading
}
VIDEO_ALARM = (255, 45, 85)  # a camera with a video alarm, its view cone and its zone
PERMIT = {  # special-work permits on the replay's scene, by kind (engine.permits.KINDS)
    "hot_work": (255, 122, 40),
    "confined_space": (192, 132, 252),
    "blinding": (56, 189, 248),
    "height": (250, 204, 21),
    "lifting": (45, 212, 191),
    "temp_power": (244, 114, 182),
    "excavation": (196, 160, 110),
    "road_closure": (148, 163, 184),
}
PERMIT_SUSPENDED = (229, 72, 77)  # a suspended permit's outline and ring


def hex_color(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)
