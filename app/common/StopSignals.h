#pragma once
// The signals that stop a job so that it can be resumed later, in strata-cli and the window alike:
// SIGTERM (a service manager, kill), SIGINT (Ctrl+C) and SIGHUP (a logout). A handler acts on the
// first one and puts the default action back, so that a second one ends the process at once.
namespace strata {

// Installs handler for each stop signal (SA_RESTART: reads and writes in progress go on).
void handleStopSignals(void (*handler)(int signalNumber));
// Puts the default action back for one stop signal; async-signal-safe (only sigaction).
void restoreStopSignal(int signalNumber);
// The same for every stop signal.
void restoreStopSignals();

// For a program that polls (strata-cli): the first stop signal writes note to stderr and sets a
// flag that stopSignalled() reads (a job's GenerationCallbacks::pauseRequested, an ingest's
// cancel). note must outlive the program (a string literal).
void watchStopSignals(const char* note);
bool stopSignalled();

}  // namespace strata
