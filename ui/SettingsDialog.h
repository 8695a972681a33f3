#pragma once
// Edits AppSettings: model folders, memory budgets, the session folder and the answer length.
#include <QDialog>

#include "AppSettings.h"

class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace strata::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT

public:
    explicit SettingsDialog(const AppSettings& settings, QWidget* parent = nullptr);
    AppSettings settings() const;

private:
    AppSettings base_;
    QPlainTextEdit* folders_ = nullptr;
    QSpinBox* ramBudget_ = nullptr;
    QSpinBox* vramBudget_ = nullptr;
    QSpinBox* kvBudget_ = nullptr;
    QLineEdit* sessionsFolder_ = nullptr;
    QSpinBox* maxTokens_ = nullptr;
};

}  // namespace strata::ui
