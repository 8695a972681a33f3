#pragma once
// SIGTERM, SIGINT and SIGHUP (a logout) during a job: the first one asks the job to pause at its
// next token or checkpoint, where it saves everything (the prompt so far, or the answer so far)
// and leaves its session paused to be resumed; a second one ends the process at once, as the
// signal would have without Strata.
namespace strata::cli {

// Installs the handlers; safe to call more than once.
void installStopSignals();
// True once a stop signal came: the job's GenerationCallbacks::pauseRequested.
bool stopSignalled();

}  // namespace strata::cli
