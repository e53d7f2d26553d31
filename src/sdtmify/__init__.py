"""sdtmify: declarative CDISC SDTM/ADaM builder.

Data flows one way: sources -> mapping -> derive -> datasets -> writers / validate / report.
"""

__version__ = "0.1.0"
