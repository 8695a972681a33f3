#pragma once
// The window's settings, kept with QSettings (~/.config/Strata/Strata.conf on Linux): the model
// and the folders searched for models, the memory budgets, the session folder, the answer length.
#include <QString>
#include <QStringList>

namespace strata::ui {

struct AppSettings {
    QString modelPath;          // empty: the installed default model
    QStringList modelFolders;   // searched besides Strata's models folder and the Hugging Face cache
    qint64 ramBudgetMiB = 0;    // weights held in RAM; 0: no limit
    qint64 vramBudgetMiB = 0;   // 0: run on the CPU
    qint64 kvBudgetMiB = 0;     // KV cache in memory; 0: no limit
    QString sessionsFolder;     // empty: the default
    qint64 maxAnswerTokens = 512;
    qint64 checkpointTokens = 1024;

    static AppSettings load();
    void save() const;
};

}  // namespace strata::ui
