#pragma once
// The plain values that cross between the window and the engine thread: what to load, what to
// ask, and what came back. Nothing here points into engine state.
#include <QList>
#include <QMetaType>
#include <QString>

namespace strata::app {

struct ModelChoice {
    QString path;            // a Hugging Face folder or a GGUF file
    quint64 ramBudget = 0;   // weights held in RAM; 0: no limit
    quint64 vramBudget = 0;  // 0: the CPU backend
    int threads = 0;         // CPU threads; 0: all cores
    qint64 contextTokens = 8192;  // positions planned for in device memory
    quint64 kvBudget = 0;  // of which KV blocks in backend memory; 0: the whole context's
};

struct ModelSummary {
    QString path;
    QString name;       // the file or folder name
    QString modelType;  // "gemma3_text", "llama", ...
    qint64 contextTokens = 0;  // the model's own context
    qint64 layers = 0;
    QString backend;    // "CPU backend" or the CUDA device
    double loadSeconds = 0;
    // What the model's encoders take (modelInputsFor with the encoders, worked out on the engine
    // thread): 0 tokens per image or per 30 s of audio when it takes none.
    qint64 tokensPerImage = 0;
    int imageSize = 0;  // pixels per side of the image encoder's input
    qint64 tokensPerAudioChunk = 0;
};

struct JobAttachment {
    QString path;
    QString kind;  // "pdf", "text", "image", "audio"
    qint64 tokens = 0;
    // How far the file goes, so that the window can tell a cited place that exists from one the
    // model made up: pages of a PDF, lines of a text file; 0 when it does not apply.
    qint64 pages = 0;
    qint64 lines = 0;
};

struct JobRequest {
    QString question;      // what the transcript shows
    QString documentText;  // the attached files' text with its source lines; put before the question
    // Every attached file. Images and recordings ("image", "audio") are read again on the engine
    // thread and go through the model's encoders into a new session's first turn; the text ones
    // are in documentText.
    QList<JobAttachment> attachments;
    QString sessionId;     // a ready session to continue; empty: a new one
    QString resumeSessionId;  // a paused session whose saved job is finished instead (question unused)
    qint64 maxNewTokens = 512;
    QString storeRoot;     // the session store; empty: the default
    quint64 kvBudget = 0;  // KV blocks in backend memory; 0: no limit
    quint64 kvRamBudget = 0;
    qint64 checkpointTokens = 1024;
};

struct JobProgress {
    qint64 jobId = 0;
    QString sessionId;  // the session the job writes; empty until it has one
    bool prefill = true;
    qint64 done = 0;
    qint64 total = 0;
    double tokensPerSecond = 0;
    double etaSeconds = -1;  // -1: unknown
};

struct JobOutcome {
    qint64 jobId = 0;
    QString sessionId;
    bool ok = false;
    bool cancelled = false;  // stopped by the user; a stopped prefill leaves the session resumable
    bool diskFull = false;
    QString error;
    QString stopReason;
    QString answer;     // as the transcript keeps it: a gpt-oss model's final channel
    QString reasoning;  // a gpt-oss model's analysis channel
    // A gpt-oss answer the model never wrote: why (the token limit reached while reasoning, a tool
    // call); empty otherwise.
    QString answerMissing;
    qint64 promptTokens = 0;
    qint64 generatedTokens = 0;
    double prefillSeconds = 0;
    double decodeSeconds = 0;
};

}  // namespace strata::app

Q_DECLARE_METATYPE(strata::app::ModelChoice)
Q_DECLARE_METATYPE(strata::app::ModelSummary)
Q_DECLARE_METATYPE(strata::app::JobRequest)
Q_DECLARE_METATYPE(strata::app::JobProgress)
Q_DECLARE_METATYPE(strata::app::JobOutcome)
