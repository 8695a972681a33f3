#include "AppSettings.h"

#include <QSettings>

namespace strata::ui {

AppSettings AppSettings::load() {
    QSettings s;
    AppSettings a;
    a.modelPath = s.value(QStringLiteral("model/path")).toString();
    a.modelFolders = s.value(QStringLiteral("model/folders")).toStringList();
    a.ramBudgetMiB = s.value(QStringLiteral("memory/ramBudgetMiB"), 0).toLongLong();
    a.vramBudgetMiB = s.value(QStringLiteral("memory/vramBudgetMiB"), 0).toLongLong();
    a.kvBudgetMiB = s.value(QStringLiteral("memory/kvBudgetMiB"), 0).toLongLong();
    a.sessionsFolder = s.value(QStringLiteral("sessions/folder")).toString();
    a.maxAnswerTokens = s.value(QStringLiteral("answers/maxTokens"), 512).toLongLong();
    a.checkpointTokens = s.value(QStringLiteral("jobs/checkpointTokens"), 1024).toLongLong();
    return a;
}

void AppSettings::save() const {
    QSettings s;
    s.setValue(QStringLiteral("model/path"), modelPath);
    s.setValue(QStringLiteral("model/folders"), modelFolders);
    s.setValue(QStringLiteral("memory/ramBudgetMiB"), ramBudgetMiB);
    s.setValue(QStringLiteral("memory/vramBudgetMiB"), vramBudgetMiB);
    s.setValue(QStringLiteral("memory/kvBudgetMiB"), kvBudgetMiB);
    s.setValue(QStringLiteral("sessions/folder"), sessionsFolder);
    s.setValue(QStringLiteral("answers/maxTokens"), maxAnswerTokens);
    s.setValue(QStringLiteral("jobs/checkpointTokens"), checkpointTokens);
}

}  // namespace strata::ui
