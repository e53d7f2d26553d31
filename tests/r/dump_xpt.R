# Dump what haven::read_xpt sees in an XPT file, for tests that compare it with what we wrote.
# Usage: Rscript dump_xpt.R FILE.xpt OUT_PREFIX
#   OUT_PREFIX.values.csv  one column per variable; numbers as %.17g (SAS dates/datetimes back on the
#                          1960 epoch), missing as "", special missing as ".A".."._"
#   OUT_PREFIX.meta.csv    name, type, label, format (haven's format.sas), plus a row "_DATASET_" whose
#                          label is the dataset label
suppressPackageStartupMessages(library(haven))
args <- commandArgs(trailingOnly = TRUE)
data <- read_xpt(args[1])
sas_days <- 3653          # 1960-01-01 -> 1970-01-01
sas_seconds <- 315619200

as_text <- function(x) {
  if (is.character(x)) return(x)
  tags <- if (is.double(x)) na_tag(x) else rep(NA_character_, length(x))
  if (inherits(x, "Date")) x <- as.numeric(x) + sas_days
  else if (inherits(x, "POSIXct")) x <- as.numeric(x) + sas_seconds
  else x <- as.numeric(x)
  out <- sprintf("%.17g", x)
  out[is.na(x)] <- ""
  special <- !is.na(tags)
  out[special] <- paste0(".", toupper(tags[special]))
  out
}

values <- as.data.frame(lapply(data, as_text), stringsAsFactors = FALSE, optional = TRUE)
names(values) <- names(data)
write.csv(values, paste0(args[2], ".values.csv"), row.names = FALSE, na = "", fileEncoding = "UTF-8")

attr_or <- function(x, name) { v <- attr(x, name, exact = TRUE); if (is.null(v)) "" else as.character(v) }
meta <- data.frame(
  name = c(names(data), "_DATASET_"),
  type = c(vapply(data, function(x) if (is.character(x)) "Char" else "Num", ""), ""),
  label = c(vapply(data, function(x) attr_or(x, "label"), ""), attr_or(data, "label")),
  format = c(vapply(data, function(x) attr_or(x, "format.sas"), ""), ""),
  stringsAsFactors = FALSE)
write.csv(meta, paste0(args[2], ".meta.csv"), row.names = FALSE, na = "", fileEncoding = "UTF-8")
