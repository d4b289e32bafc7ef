"""How quarters and capitation figures look to people: tags, progress, chart data, changes."""

import json
from dataclasses import dataclass

from celery.result import AsyncResult
from django.conf import settings

from core.presenters import Tag, nhs_datetime

from ..models import QuarterClose, QuarterStatus
from . import quarters, selectors, snapshot

# Yellow: work in hand. Grey: waiting to go. Blue: with PCSE. Green: PCSE confirmed. Red: people needed.
QUARTER_STATUS_COLOURS = {
    QuarterStatus.GENERATING: "yellow",
    QuarterStatus.GENERATED: "grey",
    QuarterStatus.SENT: "blue",
    QuarterStatus.ACKNOWLEDGED: "green",
    QuarterStatus.FAILED: "red",
}
CHART_PRACTICES = 30


def quarter_status_tag(status: str) -> Tag:
    try:
        return Tag(QuarterStatus(status).label, QUARTER_STATUS_COLOURS[status])
    except (ValueError, KeyError):
        return Tag(str(status), "grey")


@dataclass(frozen=True)
class Progress:
    step: int
    steps: int
    text: str

    @property
    def heading(self) -> str:
        return f"Step {self.step} of {self.steps}" if self.step else "Waiting to start"


def generation_progress(quarter: QuarterClose) -> Progress:
    """Where the snapshot task has got to, from the Celery result backend."""
    steps = snapshot.STEPS
    if not quarter.task_id:
        return Progress(0, steps, "Waiting for the snapshot to be scheduled")
    result = AsyncResult(quarter.task_id)
    state, info = result.state, result.info
    if state == "PROGRESS" and isinstance(info, dict):
        return Progress(int(info.get("step", 0)), int(info.get("steps", steps)), str(info.get("text", "")))
    if state == "SUCCESS":
        return Progress(steps, steps, "Stored")
    if state == "FAILURE":
        return Progress(0, steps, "The last attempt failed; it will be tried again automatically")
    return Progress(0, steps, "Waiting for a worker to start")


def summary_rows(quarter: QuarterClose, summary: dict) -> list[dict]:
    """Totals for the NHS.UK summary list at the top of the report."""
    totals = summary["totals"]
    previous = summary.get("previous_quarter")
    rows = [
        {"key": "Registered patients", "value": f"{totals['patients']:,}"},
        {"key": "Practices", "value": f"{totals['practices']:,}"},
        {"key": "GPs", "value": f"{totals['gps']:,}"},
        {"key": "Patients with no GP known to PCRM", "value": f"{totals['unattributed_patients']:,}"},
        {"key": "Acceptances in the quarter", "value": f"{totals['acceptances']:,}"},
        {"key": "Deductions in the quarter", "value": f"{totals['deductions']:,}"},
        {"key": "Patients of dispensing practices (DM)", "value": f"{totals.get('dispensing_patients', 0):,}"},
        {
            "key": "Patients in a residential institute (RIC)",
            "value": f"{totals.get('residential_institute_patients', 0):,}",
        },
    ]
    if previous:
        change = totals["patients"] - previous["patients"]
        rows.append(
            {
                "key": "Change since the previous quarter",
                "value": f"{signed(change)} (from {previous['patients']:,})",
            }
        )
    else:
        rows.append({"key": "Change since the previous quarter", "value": "No earlier quarter closed in PCRM"})
    return rows


def _nation_delivery(quarter: QuarterClose, nation: str) -> str:
    recipient = settings.CAPITATION_NATION_RECIPIENTS.get(nation)
    if not recipient:
        return "Not sent: no recipient configured (CAPITATION_NATION_RECIPIENTS); never included in PCSE's"
    sent = quarter.nation_deliveries.get(nation, {})
    return f"Sent to {recipient}" if sent.get("csv") and sent.get("summary") else f"Not yet sent to {recipient}"


def delivery_rows(quarter: QuarterClose) -> list[dict]:
    rows = [
        {"key": "Closed by", "value": quarter.closed_by},
        {"key": "F8 close-quarter notifications", "value": f"{quarter.f8_count:,} linked practices"},
        {"key": "CSV checksum (SHA-256)", "value": quarter.csv_sha256},
        {"key": "Sent to PCSE", "value": _when(quarter.sent_at)},
        *[
            {"key": f"{nation} (reported separately)", "value": _nation_delivery(quarter, nation)}
            for nation in selectors.other_nations(quarter)
        ],
        {"key": "Acknowledged by PCSE", "value": _when(quarter.acknowledged_at)},
    ]
    if quarter.last_error:
        rows.append({"key": f"Last error (attempt {quarter.send_attempts})", "value": quarter.last_error})
    return rows


def _when(value) -> str:
    return nhs_datetime(value) if value else "Not yet"


def signed(n: int) -> str:
    """+3, −2 (a true minus sign), 0."""
    return f"+{n:,}" if n > 0 else (f"−{-n:,}" if n < 0 else "0")


def chart_data(quarter: QuarterClose, summary: dict) -> dict:
    """What capitation.js draws: the largest lists by practice, and the list by age band and sex."""
    largest = selectors.largest_lists(quarter, CHART_PRACTICES)
    by_band = summary["totals"]["by_sex_and_age_band"]
    bands = [band[1] for band in snapshot.BANDS]
    return {
        "practices": {
            "labels": [f"{ods} {name}".strip() for ods, name, _ in largest],
            "values": [patients for _, _, patients in largest],
            # The same bars as a table beside the chart, so every bar's figure can be read (and heard).
            "rows": [{"ods": ods, "name": name, "patients": f"{patients:,}"} for ods, name, patients in largest],
        },
        "bands": {
            "labels": bands,
            "series": [
                {"label": sex.capitalize(), "values": [by_band[sex][band] for band in bands]} for sex in snapshot.SEXES
            ],
        },
    }


def age_band_rows(summary: dict) -> list[dict]:
    by_band = summary["totals"]["by_sex_and_age_band"]
    return [
        {
            "band": band[1],
            "male": f"{by_band['male'][band[1]]:,}",
            "female": f"{by_band['female'][band[1]]:,}",
            "other": f"{by_band['other'][band[1]]:,}",
            "total": f"{summary['totals']['by_age_band'][band[1]]:,}",
        }
        for band in snapshot.BANDS
    ]


def largest_changes(quarter: QuarterClose, limit: int = 10) -> list[dict]:
    """The practices whose lists changed most since the previous quarter, biggest movement first."""
    return [
        {
            "ods": line.practice_ods,
            "name": line.practice_name,
            "previous": f"{line.previous_patients or 0:,}",
            "patients": f"{line.patients:,}",
            "change": signed(line.change),
        }
        for line in selectors.largest_changes(quarter, limit)
    ]


def parse_summary(quarter: QuarterClose) -> dict:
    return json.loads(bytes(quarter.summary)) if quarter.summary is not None else {}


def title(quarter_end) -> str:
    """ "Quarter ending 31 March 2026", for headings."""
    label = quarters.label(quarter_end)
    return label[:1].upper() + label[1:]
