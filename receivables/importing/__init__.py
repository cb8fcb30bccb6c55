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
    Detected,
    ImportOptions,
    ParsedBatch,
    Prepared,
    Problem,
    guess_kind,
    prepare,
    validate,
)

__all__ = [
    "DEBTORS", "FIELDS", "FILE_TYPES", "FILE_TYPES_LABEL", "KIND_FIELDS", "KIND_LABELS", "KINDS", "LEDGER", "MAX_BYTES", "OPEN_ITEMS", "PROFILES",
    "Detected", "FileRejected", "ImportOptions", "ParsedBatch", "Prepared", "Problem", "RawTable", "bundle", "detect_kind",
    "detect_profile", "guess_kind", "header_signature", "prepare", "read_table", "suggest_mapping",
    "validate",
]
