"""medkg: a linked-data knowledge graph (ontology, data, OWL 2 RL closure, SHACL, SPARQL)."""

from medkg.guards import guard_rdflib

__version__ = "0.1.0"

guard_rdflib()

__all__ = ["__version__"]
