"""Reading accounting exports: bytes -> text table -> typed, checked rows. Pure, no database."""

from receivables.importing.mapping import (
    DEBTORS,
    FIELDS,
    KIND_FIELDS,
    KIND_LABELS,
    KINDS,
    LEDGER,
    OPEN_ITEMS,
    PROFILES,
    detect_kind,
    detect_profile,
    header_signature,
    suggest_mapping,
)
from receivables.importing.reading import (
    FILE_TYPES,
    FILE_TYPES_LABEL,
    MAX_BYTES,
    FileRejected,
    RawTable,
    bundle,
    read_table,
)
from receivables.importing.validation import (
    ColumnFact,
    Detected,
    ImportOptions,
    Notice,
    ParsedBatch,
    Prepared,
    Problem,
    column_facts,
    guess_kind,
    prepare,
    review_mapping,
    validate,
)

__all__ = [
    "ColumnFact", "Notice", "column_facts", "review_mapping",
    "DEBTORS", "FIELDS", "FILE_TYPES", "FILE_TYPES_LABEL", "KIND_FIELDS", "KIND_LABELS", "KINDS", "LEDGER", "MAX_BYTES", "OPEN_ITEMS", "PROFILES",
    "Detected", "FileRejected", "ImportOptions", "ParsedBatch", "Prepared", "Problem", "RawTable", "bundle", "detect_kind",
    "detect_profile", "guess_kind", "header_signature", "prepare", "read_table", "suggest_mapping",
    "validate",
]
