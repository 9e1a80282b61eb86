"""Synthetic medkg-domain data for the growth benchmark, and the growth measurement.

:func:`generate` writes N-Triples in medkg's vocabulary: countries and cities, universities
with medical schools, institutes and affiliated hospitals, people holding appointments,
alumni links, agreements between organisations with signatures, and partnerships. Degree
distributions are skewed the way real data is: a few universities are large (Zipf-like
sizes), most people hold one appointment and a few hold many, and agreements pick their
parties preferentially among organisations that already have many.

:func:`measure_growth` loads the bundled ontology plus a generated file at each size through
medkg's own pipeline (:meth:`medkg.store.KnowledgeGraph.open`, no cache: parse, OWL 2 RL
inference, the CONSTRUCT rules, the pyoxigraph store), times a typical query, and
reports time per triple so that growth worse than linear shows up.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import multiprocessing
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MKG = "https://w3id.org/medkg/ontology#"
RES = "https://w3id.org/medkg/resource/synthetic/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"

#: A typical question: people with an appointment in some part of a university (uses the
#: inferred ``partOf`` closure and the inverse ``hasAppointment``).
TYPICAL_QUERY = f"""PREFIX mkg: <{MKG}>
SELECT ?university (COUNT(DISTINCT ?person) AS ?people) WHERE {{
  ?university a mkg:University .
  ?unit mkg:partOf ?university .
  ?person mkg:hasAppointment ?appointment .
  ?appointment mkg:inOrganization ?unit .
}} GROUP BY ?university ORDER BY DESC(?people) LIMIT 10"""

AGREEMENT_KINDS = ("MemorandumOfUnderstanding", "StudentExchangeAgreement", "CooperationAgreement")
UNIT_KINDS = ("MedicalSchool", "Institute", "ResearchInstitute", "AcademicUnit")
ROLES = ("dean", "professor", "director", "president", "lecturer", "chair", "fellow")


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def iri(self, subject: str, predicate: str, obj: str) -> None:
        self.lines.append(f"<{RES}{subject}> <{MKG}{predicate}> <{RES}{obj}> .")

    def kind(self, subject: str, cls: str) -> None:
        self.lines.append(f"<{RES}{subject}> <{RDF_TYPE}> <{MKG}{cls}> .")

    def label(self, subject: str, text: str) -> None:
        self.lines.append(f'<{RES}{subject}> <{LABEL}> "{text}"@en .')

    def date(self, subject: str, predicate: str, day: str) -> None:
        self.lines.append(f'<{RES}{subject}> <{MKG}{predicate}> "{day}"^^<{XSD_DATE}> .')


def generate(target_triples: int, seed: int = 6) -> str:
    """N-Triples of about ``target_triples`` triples (within a few percent)."""
    rng = random.Random(seed)
    out = _Writer()
    countries = max(3, int(target_triples**0.33 / 2))
    for c in range(countries):
        out.kind(f"country{c}", "Country")
        out.label(f"country{c}", f"Country {c}")
        for k in range(3):
            out.kind(f"city{c}-{k}", "City")
            out.iri(f"city{c}-{k}", "locatedIn", f"country{c}")
    organisations: list[str] = []
    weights: list[float] = []
    people: list[str] = []
    u = 0
    a = 0
    while len(out.lines) < target_triples:
        uni = f"univ{u}"
        out.kind(uni, "University")
        out.label(uni, f"University {u}")
        country = rng.randrange(countries)
        out.iri(uni, "locatedIn", f"city{country}-{rng.randrange(3)}")
        organisations.append(uni)
        weights.append(3.0)
        size = max(1, int(8 / (1 + rng.paretovariate(1.2))) + rng.randrange(3))  # skewed
        units: list[str] = []
        for k in range(size):
            unit = f"{uni}-unit{k}"
            out.kind(unit, UNIT_KINDS[k % len(UNIT_KINDS)])
            out.label(unit, f"Unit {k} of University {u}")
            parent = rng.choice(units) if units and rng.random() < 0.3 else uni
            out.iri(unit, "partOf" if parent == uni else "subOrganizationOf", parent)
            units.append(unit)
            organisations.append(unit)
            weights.append(1.0)
        for h in range(rng.randrange(0, 3)):
            hospital = f"{uni}-hospital{h}"
            out.kind(hospital, "AffiliatedHospital")
            out.label(hospital, f"Hospital {h} of University {u}")
            out.iri(hospital, "affiliatedHospitalOf", rng.choice(units))
            organisations.append(hospital)
            weights.append(1.0)
        for p in range(size * 6):
            person = f"{uni}-person{p}"
            out.kind(person, "Person")
            out.label(person, f"Person {p} of University {u}")
            people.append(person)
            for j in range(min(6, int(rng.paretovariate(2.0)))):  # mostly 1, a few many
                appointment = f"{person}-appt{j}"
                out.kind(appointment, "Appointment")
                out.iri(appointment, "holder", person)
                out.iri(appointment, "role", f"role-{rng.choice(ROLES)}")
                out.iri(appointment, "inOrganization", rng.choice(units))
                out.date(appointment, "attestedOn", f"20{rng.randrange(10, 27)}-01-15")
            if rng.random() < 0.4:
                out.iri(
                    person, "alumnusOf", rng.choice(organisations[: max(1, len(organisations))])
                )
        for _ in range(size):  # agreements: preferential attachment on organisations
            agreement = f"agreement{a}"
            a += 1
            out.kind(agreement, AGREEMENT_KINDS[a % len(AGREEMENT_KINDS)])
            parties = {uni, *rng.choices(organisations, weights=weights, k=rng.randrange(1, 3))}
            for party in sorted(parties):
                out.iri(agreement, "hasParty", party)
                weights[organisations.index(party)] += 1.0 if party != uni else 0.0
            signer = rng.choice(people)
            out.iri(f"{agreement}-sig", "signatory", signer)
            out.iri(agreement, "hasSignature", f"{agreement}-sig")
            out.date(agreement, "signedOn", f"20{rng.randrange(10, 27)}-06-01")
            if len(parties) > 1:
                first, second = sorted(parties)[:2]
                out.iri(first, "partnerOf", second)
        u += 1
    return "\n".join(out.lines) + "\n"


def write(path: Path, target_triples: int) -> int:
    """Write the generated N-Triples (gzipped if ``path`` ends in ``.gz``); the triple count."""
    text = generate(target_triples)
    data = text.encode()
    path.write_bytes(gzip.compress(data, 1) if path.name.endswith(".gz") else data)
    return text.count("\n")


def _measure_one(path: Path, query_repeat: int) -> dict[str, Any]:
    from medkg.config import Settings, resolve_resources
    from medkg.store import GraphMode, KnowledgeGraph

    ontology_dir = resolve_resources(Settings()).ontology_dir
    with tempfile.TemporaryDirectory() as cache:
        # --data replaces the bundled data; the explicit ontology directory keeps the ontology
        settings = Settings(
            ontology_dir=ontology_dir, extra_data=(path,), use_cache=False, cache_dir=Path(cache)
        )
        start = time.perf_counter()
        kg = KnowledgeGraph.open(settings)
        open_s = time.perf_counter() - start
        times = []
        rows = 0
        for _ in range(query_repeat):
            start = time.perf_counter()
            rows = len(kg.query(TYPICAL_QUERY, mode=GraphMode.ALL).rows)
            times.append(time.perf_counter() - start)
        return {
            "load_inference_s": open_s,
            "quads": len(kg.store),
            "query_median_s": statistics.median(times),
            "query_rows": rows,
        }


#: Sizes up to this many triples are measured :data:`REPEAT` times (median); larger ones,
#: a minute each, once.
REPEATED_UP_TO = 100_000
REPEAT = 3


def _measure_apart(path: Path, query_repeat: int) -> dict[str, Any]:
    """:func:`_measure_one` in a fresh process: not in the suite's own, which holds the
    graphs of the benchmarks before it (a gigabyte or more) and whatever state they left."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        return pool.submit(_measure_one, path, query_repeat).result()


def measure_growth(sizes: list[int], log: Callable[[str], None]) -> dict[str, Any]:
    """Per size: generated triples, load + inference time (the median of :data:`REPEAT`
    fresh processes up to :data:`REPEATED_UP_TO` triples), store size, query median."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"synthetic-{size}.nt.gz"
            triples = write(path, size)
            repeat = REPEAT if size <= REPEATED_UP_TO else 1
            log(f"growth: {triples:,} synthetic triples: loading and inferring, {repeat}x ...")
            runs = sorted(
                (_measure_apart(path, 5) for _ in range(repeat)),
                key=lambda run: float(run["load_inference_s"]),
            )
            row = {"target": size, "triples": triples, **runs[len(runs) // 2]}
            row["samples_s"] = [run["load_inference_s"] for run in runs]
            row["us_per_triple"] = row["load_inference_s"] / triples * 1e6
            log(
                f"growth: {triples:,} triples: load + inference {row['load_inference_s']:.2f} s "
                f"({row['us_per_triple']:.1f} us/triple), "
                f"query {row['query_median_s'] * 1000:.1f} ms"
            )
            rows.append(row)
    first, last = rows[0], rows[-1]
    exponent = None
    if len(rows) > 1 and last["triples"] > first["triples"]:
        import math

        exponent = math.log(last["load_inference_s"] / first["load_inference_s"]) / math.log(
            last["triples"] / first["triples"]
        )
    return {
        "sizes": rows,
        "query": TYPICAL_QUERY,
        "growth_exponent": exponent,
        # linear growth or better: time per triple at the largest size no more than 1.25x
        # (noise allowance) the smallest size's
        "met": exponent is not None and exponent <= 1.1,
    }


def plot(growth: dict[str, Any], path: Path) -> bool:
    """Write the growth plot; False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = growth["sizes"]
    xs = [r["triples"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(xs, [r["load_inference_s"] for r in rows], "o-", label="load + inference")
    ax.loglog(xs, [r["query_median_s"] for r in rows], "s-", label="typical query (median)")
    base = rows[0]["load_inference_s"] / xs[0]
    ax.loglog(xs, [base * x for x in xs], ":", color="grey", label="linear from smallest")
    ax.set_xlabel("synthetic triples")
    ax.set_ylabel("seconds")
    ax.set_title("medkg: growth with graph size")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
