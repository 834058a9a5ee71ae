"""The district maps of the risk-area, mutual-aid and referral-board pages, on the overview's map
(`web.wallmap`): the layers each page's work needs, and the names every map labels its units
with in the reader's language.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date

from xietong.areas.reference import chongqing
from xietong.mutual_aid.schemas import OutlookCell, TransferRead
from xietong.web import wallmap
from xietong.web.i18n import Language, translate
from xietong.web.rendering import DistrictLabel
from xietong.zones.vocabulary import LOCKED_STATUSES

# The levels a risk area may have, most severe first (the service designates high-risk areas).
AREA_LEVELS = ("high",)


def names_of(
    labels: Mapping[int, DistrictLabel], *, lang: Language
) -> tuple[dict[str, str], dict[str, str]]:
    """Every unit's full name and the short name a map prints, by code, in `lang`."""
    kinds = {d.code: d.kind for d in chongqing().districts}
    names = {label.code: label.name(lang) for label in labels.values()}
    short = {
        code: wallmap.short_name(code, name, lang=lang, kind=kinds.get(code, ""))
        for code, name in names.items()
    }
    return names, short


def zones_map(
    counts: Mapping[tuple[int, str, str], int],
    *,
    labels: Mapping[int, DistrictLabel],
    lang: Language,
    highlight: str | None,
) -> tuple[wallmap.WallMap, int]:
    """The risk-area page's map of the open areas' `counts` (`zones.metrics.open_by_district`):
    areas locked now by level, areas awaiting approval, and liftings awaiting a decision, per
    district; and how many areas are locked in all."""
    codes = {district_id: label.code for district_id, label in labels.items()}

    def layer(key: str, statuses: Sequence[str], level: str | None = None) -> wallmap.Layer:
        per: Counter[str] = Counter()
        for (district_id, lv, status), n in counts.items():
            if status in statuses and level in (None, lv):
                per[codes[district_id]] += n
        values = {code: per.get(code, 0) for code in codes.values()}
        return wallmap.Layer(key, translate(lang, f"map.layer_{key}"), values)

    layers = [layer(f"locked_{level}", LOCKED_STATUSES, level) for level in AREA_LEVELS]
    layers += [layer("proposed", ["proposed"]), layer("lifting", ["lifting_proposed"])]
    names, short = names_of(labels, lang=lang)
    locked = sum(n for (_, _, status), n in counts.items() if status in LOCKED_STATUSES)
    drawn = wallmap.wall_map(layers=layers, names=names, short_names=short, highlight=highlight)
    return drawn, locked


def mutual_aid_map(
    *,
    labels: Mapping[int, DistrictLabel],
    lang: Language,
    cells: Sequence[OutlookCell],
    transfers: Sequence[TransferRead],
    resource: str,
    day: date,
    highlight: str | None,
) -> wallmap.WallMap:
    """The mutual-aid page's map for one resource and day: each district's shortfall, what it
    lends others under the plan, and the plan's transfers as arrows from the district that
    lends to the district it serves."""
    names, short = names_of(labels, lang=lang)
    short_by = {
        c.district_code: max(c.gap, 0) for c in cells if c.resource == resource and c.day == day
    }
    moved: Counter[tuple[str, str]] = Counter()
    for tr in transfers:
        if tr.resource == resource and tr.day == day:
            # The district that takes the persons in (to) is the one that lends its beds.
            moved[(tr.to_district_code, tr.from_district_code)] += tr.amount
    lent: Counter[str] = Counter()
    for (lender, _), amount in moved.items():
        lent[lender] += amount
    layers = [
        wallmap.Layer(
            "short",
            translate(lang, "map.layer_short"),
            {code: short_by.get(code) for code in names},
        ),
        wallmap.Layer(
            "lent", translate(lang, "map.layer_lent"), {code: lent.get(code, 0) for code in names}
        ),
    ]
    return wallmap.wall_map(
        layers=layers,
        names=names,
        short_names=short,
        highlight=highlight,
        link=f"/resources?resource={resource}&day={day.isoformat()}&district={{code}}#outlook",
        flows=[wallmap.Flow(lender, borrower, n) for (lender, borrower), n in moved.items()],
    )


def board_map(
    *, labels: Mapping[int, DistrictLabel], lang: Language, overdue: Mapping[str, int]
) -> wallmap.WallMap:
    """The referral board's map: the referrals overdue now by receiving district (`overdue`,
    by code), each district a link to the board's list of its overdue referrals."""
    names, short = names_of(labels, lang=lang)
    layer = wallmap.Layer(
        "overdue",
        translate(lang, "wall.layer_overdue"),
        {code: overdue.get(code, 0) for code in names},
    )
    return wallmap.wall_map(
        layers=[layer],
        names=names,
        short_names=short,
        link="/referrals/board?district={code}#overdue",
    )
