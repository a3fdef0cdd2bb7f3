"""States and provinces of the countries whose numbers span several zones, with the zones they use.

A location like "Austin, TX" or "Perth WA" names a region, not a city in GeoNames' list; people
write both the name and the postal code. A region split between zones lists every zone it uses
(the main one first), so a call stays legal in all of them.
"""

from __future__ import annotations

_NY, _CHI, _DEN, _PHX, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    ("America/Los_Angeles"),
)
_DET, _IND, _KY, _BOI = (
    "America/Detroit",
    "America/Indiana/Indianapolis",
    "America/Kentucky/Louisville",
    ("America/Boise"),
)

_US: dict[tuple[str, str], tuple[str, ...]] = {
    ("al", "alabama"): (_CHI,),
    ("ak", "alaska"): ("America/Anchorage", "America/Adak"),
    ("az", "arizona"): (_PHX,),
    ("ar", "arkansas"): (_CHI,),
    ("ca", "california"): (_LA,),
    ("co", "colorado"): (_DEN,),
    ("ct", "connecticut"): (_NY,),
    ("de", "delaware"): (_NY,),
    ("dc", "district of columbia"): (_NY,),
    ("fl", "florida"): (_NY, _CHI),
    ("ga", "georgia"): (_NY,),
    ("hi", "hawaii"): ("Pacific/Honolulu",),
    ("id", "idaho"): (_BOI, _LA),
    ("il", "illinois"): (_CHI,),
    ("in", "indiana"): (_IND, _CHI),
    ("ia", "iowa"): (_CHI,),
    ("ks", "kansas"): (_CHI, _DEN),
    ("ky", "kentucky"): (_KY, _CHI),
    ("la", "louisiana"): (_CHI,),
    ("me", "maine"): (_NY,),
    ("md", "maryland"): (_NY,),
    ("ma", "massachusetts"): (_NY,),
    ("mi", "michigan"): (_DET, _CHI),
    ("mn", "minnesota"): (_CHI,),
    ("ms", "mississippi"): (_CHI,),
    ("mo", "missouri"): (_CHI,),
    ("mt", "montana"): (_DEN,),
    ("ne", "nebraska"): (_CHI, _DEN),
    ("nv", "nevada"): (_LA,),
    ("nh", "new hampshire"): (_NY,),
    ("nj", "new jersey"): (_NY,),
    ("nm", "new mexico"): (_DEN,),
    ("ny", "new york state"): (_NY,),
    ("nc", "north carolina"): (_NY,),
    ("nd", "north dakota"): (_CHI, _DEN),
    ("oh", "ohio"): (_NY,),
    ("ok", "oklahoma"): (_CHI,),
    ("or", "oregon"): (_LA, _BOI),
    ("pa", "pennsylvania"): (_NY,),
    ("ri", "rhode island"): (_NY,),
    ("sc", "south carolina"): (_NY,),
    ("sd", "south dakota"): (_CHI, _DEN),
    ("tn", "tennessee"): (_CHI, _NY),
    ("tx", "texas"): (_CHI, _DEN),
    ("ut", "utah"): (_DEN,),
    ("vt", "vermont"): (_NY,),
    ("va", "virginia"): (_NY,),
    ("wa", "washington state"): (_LA,),
    ("wv", "west virginia"): (_NY,),
    ("wi", "wisconsin"): (_CHI,),
    ("wy", "wyoming"): (_DEN,),
    ("pr", "puerto rico"): ("America/Puerto_Rico",),
}

_CA: dict[tuple[str, str], tuple[str, ...]] = {
    ("ab", "alberta"): ("America/Edmonton",),
    ("bc", "british columbia"): ("America/Vancouver", "America/Edmonton"),
    ("mb", "manitoba"): ("America/Winnipeg",),
    ("nb", "new brunswick"): ("America/Moncton",),
    ("nl", "newfoundland and labrador"): ("America/St_Johns", "America/Goose_Bay"),
    ("ns", "nova scotia"): ("America/Halifax",),
    ("nt", "northwest territories"): ("America/Yellowknife",),
    ("nu", "nunavut"): ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    ("on", "ontario"): ("America/Toronto", "America/Winnipeg"),
    ("pe", "prince edward island"): ("America/Halifax",),
    ("qc", "quebec"): ("America/Toronto",),
    ("sk", "saskatchewan"): ("America/Regina",),
    ("yt", "yukon"): ("America/Whitehorse",),
}

_AU: dict[tuple[str, str], tuple[str, ...]] = {
    ("nsw", "new south wales"): ("Australia/Sydney", "Australia/Broken_Hill"),
    ("act", "australian capital territory"): ("Australia/Sydney",),
    ("vic", "victoria"): ("Australia/Melbourne",),
    ("qld", "queensland"): ("Australia/Brisbane",),
    ("sa", "south australia"): ("Australia/Adelaide",),
    ("wa", "western australia"): ("Australia/Perth",),
    ("tas", "tasmania"): ("Australia/Hobart",),
    ("nt", "northern territory"): ("Australia/Darwin",),
}


def _index() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    index: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for country, table in (("US", _US), ("CA", _CA), ("AU", _AU)):
        for names, zones in table.items():
            for name in names:
                index.setdefault(name, []).append((country, zones))
    return {name: tuple(entries) for name, entries in index.items()}


# Folded name or postal code -> ((country, zones), ...): "wa" is Washington and Western Australia.
REGION_ZONES = _index()
