"""Made-up but realistic cases: payers, services, nested review summaries and patient-like data.

Every person, member id and NPI here is invented. The patient-looking fields are deliberate: they
sit in ``summary`` and ``answers`` so that the bot's allow-list and its never-render rules are
exercised against data that would hurt if it leaked.
"""

from __future__ import annotations

import copy
import itertools
import secrets
from dataclasses import dataclass
from typing import Any

FIRST_CASE_NUMBER = 2291


@dataclass(frozen=True)
class Patient:
    name: str
    date_of_birth: str
    member_id: str


@dataclass(frozen=True)
class Scenario:
    """One kind of case: who pays, what is asked for, and how the payer is reached."""

    payer_id: str
    payer_name: str
    coverage_state: str
    request_type: str
    code_system: str
    code: str
    service_label: str
    channel: str
    final_submit_capable: bool
    handoff_message: str | None
    patient: Patient
    diagnoses: tuple[tuple[str, str], ...]
    documents: tuple[str, ...]
    warnings: tuple[tuple[str, str], ...]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        payer_id="payer_aetna",
        payer_name="Aetna",
        coverage_state="CA",
        request_type="outpatient",
        code_system="cpt",
        code="72148",
        service_label="MRI lumbar spine without contrast",
        channel="portal",
        final_submit_capable=False,
        handoff_message="Availity asks for a one-time code; it goes to the shared intake inbox.",
        patient=Patient("Maria Delgado", "1984-03-12", "W482913377"),
        diagnoses=(("M54.16", "Radiculopathy, lumbar region"),),
        documents=("mri-order.pdf", "pt-notes-6-weeks.pdf"),
        warnings=(("portal_mfa_required", "Portal asks for a one-time code at sign-in."),),
    ),
    Scenario(
        payer_id="payer_uhc",
        payer_name="UnitedHealthcare",
        coverage_state="TX",
        request_type="drug",
        code_system="hcpcs",
        code="J0897",
        service_label="Denosumab injection, 1 mg",
        channel="portal",
        final_submit_capable=True,
        handoff_message=None,
        patient=Patient("Harold Okafor", "1951-11-02", "UHC-118273645"),
        diagnoses=(("M81.0", "Age-related osteoporosis"), ("Z79.83", "Long-term bisphosphonate")),
        documents=("dexa-scan.pdf", "medication-history.pdf", "lab-calcium.pdf"),
        warnings=(
            ("step_therapy_note", "Payer may ask for two prior therapies; only one is on file."),
            ("site_of_care", "Home infusion sites need a separate form."),
        ),
    ),
    Scenario(
        payer_id="payer_cigna",
        payer_name="Cigna",
        coverage_state="NY",
        request_type="inpatient",
        code_system="cpt",
        code="27447",
        service_label="Total knee arthroplasty",
        channel="phone",
        final_submit_capable=False,
        handoff_message="Cigna's line asks for the facility TIN before the case number.",
        patient=Patient("Evelyn Brandt", "1960-07-19", "U73920118"),
        diagnoses=(("M17.11", "Unilateral primary osteoarthritis, right knee"),),
        documents=("ortho-consult.pdf",),
        warnings=(),
    ),
    Scenario(
        payer_id="payer_humana",
        payer_name="Humana",
        coverage_state="FL",
        request_type="drug",
        code_system="ndc",
        code="0169-4132-12",
        service_label="Semaglutide pen, 2 mg/dose",
        channel="fax",
        final_submit_capable=True,
        handoff_message=None,
        patient=Patient("Luis Ferreira", "1977-01-30", "H55019283"),
        diagnoses=(("E11.65", "Type 2 diabetes with hyperglycemia"),),
        documents=("a1c-results.pdf", "prescription.pdf"),
        warnings=(("fax_cover_required", "Fax needs the payer's own cover sheet."),),
    ),
    Scenario(
        payer_id="payer_anthem",
        payer_name="Anthem Blue Cross",
        coverage_state="OH",
        request_type="outpatient",
        code_system="cpt",
        code="93306",
        service_label="Transthoracic echocardiogram, complete",
        channel="portal",
        final_submit_capable=False,
        handoff_message=None,
        patient=Patient("Grace Whitfield", "1992-09-05", "ANT-330918274"),
        diagnoses=(("R00.2", "Palpitations"), ("I34.1", "Mitral valve prolapse")),
        documents=("ecg.pdf", "cardiology-referral.pdf"),
        warnings=(),
    ),
)

_case_numbers = itertools.count(FIRST_CASE_NUMBER)


def pick_scenario(index: int, payer_id: str | None = None) -> Scenario:
    """The ``index``-th scenario in turn, or the one for ``payer_id``."""
    if payer_id is None:
        return SCENARIOS[index % len(SCENARIOS)]
    for scenario in SCENARIOS:
        if scenario.payer_id == payer_id:
            return scenario
    known = ", ".join(scenario.payer_id for scenario in SCENARIOS)
    raise ValueError(f"unknown payer {payer_id!r}; the simulator knows {known}")


def next_case_id() -> str:
    return f"CASE-{next(_case_numbers)}"


def customer_metadata(metadata: dict[str, Any] | None, case_id: str | None) -> dict[str, Any]:
    """The customer's metadata; a generated case id only when neither is given."""
    if metadata is None:
        return {"externalCaseId": case_id or next_case_id()}
    result = copy.deepcopy(metadata)
    if case_id is not None:
        result["externalCaseId"] = case_id
    return result


def payer_reference(scenario: Scenario) -> str:
    """A payer receipt number in a payer-looking format, e.g. ``AET-04417728``."""
    return f"{scenario.payer_name[:3].upper()}-{secrets.randbelow(10**8):08d}"


def payer(scenario: Scenario) -> dict[str, Any]:
    return {"id": scenario.payer_id, "displayName": scenario.payer_name}


def service_request(scenario: Scenario) -> dict[str, Any]:
    return {
        "payerId": scenario.payer_id,
        "coverageState": scenario.coverage_state,
        "requestType": scenario.request_type,
        "serviceCode": {"system": scenario.code_system, "code": scenario.code},
    }


def review_summary(scenario: Scenario) -> dict[str, Any]:
    """A nested summary (objects, arrays, nulls, booleans), patient details included (D10)."""
    patient = scenario.patient
    return {
        "service": {"code": scenario.code, "label": scenario.service_label, "units": 1},
        "patient": {
            "name": patient.name,
            "dateOfBirth": patient.date_of_birth,
            "memberId": patient.member_id,
        },
        "channel": scenario.channel,
        "diagnoses": [{"code": code, "label": label} for code, label in scenario.diagnoses],
        "documents": len(scenario.documents),
        "clinicalNotesAttached": bool(scenario.documents),
        "priorTreatment": {"conservativeTherapyWeeks": 6, "lastImagingDate": None},
        "submission": {"urgency": "standard", "retroactive": False, "portalCaseNumber": None},
    }


def review_warnings(scenario: Scenario) -> list[dict[str, str]]:
    return [{"code": code, "message": message} for code, message in scenario.warnings]


def snapshot_answers(scenario: Scenario) -> dict[str, Any]:
    patient = scenario.patient
    return {
        "item": [
            {"linkId": "patient.name", "answer": patient.name},
            {"linkId": "patient.dateOfBirth", "answer": patient.date_of_birth},
            {"linkId": "member.id", "answer": patient.member_id},
            {"linkId": "clinical.history", "answer": "Symptoms for 9 weeks despite therapy."},
        ]
    }


def authorization_answers(scenario: Scenario) -> dict[str, Any]:
    patient = scenario.patient
    return {
        "member": {"id": patient.member_id, "groupNumber": "GRP-40012"},
        "patient": {
            "name": patient.name,
            "dateOfBirth": patient.date_of_birth,
            "phone": "+1-555-0142",
            "address": {"line1": "18 Harbor View Rd", "city": "Springfield", "zip": "00000"},
        },
    }


def attachments(scenario: Scenario) -> list[dict[str, Any]]:
    return [
        {"id": f"file_{index:03d}", "filename": name, "contentType": "application/pdf"}
        for index, name in enumerate(scenario.documents, start=1)
    ]


def fresh(value: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, so that callers never share mutable scenario data."""
    return copy.deepcopy(value)
