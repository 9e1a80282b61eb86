"""medkg: a linked-data knowledge graph (ontology, data, OWL 2 RL closure, SHACL, SPARQL)."""

from medkg.guards import configure_rdflib

__version__ = "0.1.0"

configure_rdflib()

__all__ = ["__version__"]
