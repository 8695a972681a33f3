#include "SettingsDialog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>

namespace strata::ui {

namespace {

QSpinBox* mebibytes(qint64 value, const QString& zeroMeans, const QString& tip) {
    auto* box = new QSpinBox;
    box->setRange(0, 16 * 1024 * 1024);
    box->setSingleStep(256);
    box->setSuffix(QStringLiteral(" MiB"));
    box->setSpecialValueText(zeroMeans);
    box->setValue(int(value));
    box->setToolTip(tip);
    return box;
}

}  // namespace

SettingsDialog::SettingsDialog(const AppSettings& settings, QWidget* parent) : QDialog(parent), base_(settings) {
    setWindowTitle(tr("Settings"));
    setObjectName(QStringLiteral("settingsDialog"));
    auto* form = new QFormLayout;

    folders_ = new QPlainTextEdit(settings.modelFolders.join(QLatin1Char('\n')));
    folders_->setObjectName(QStringLiteral("modelFoldersEdit"));
    folders_->setToolTip(tr("One folder per line. GGUF files and Hugging Face model folders in them (and one level "
                            "below) appear in the model list, besides Strata's models folder and the Hugging Face cache."));
    folders_->setMaximumHeight(80);
    form->addRow(tr("Model &folders:"), folders_);

    ramBudget_ = mebibytes(settings.ramBudgetMiB, tr("no limit"),
                           tr("Model weights held in RAM at once; the rest is streamed from disk."));
    ramBudget_->setObjectName(QStringLiteral("ramBudgetSpin"));
    form->addRow(tr("&RAM for weights:"), ramBudget_);
    vramBudget_ = mebibytes(settings.vramBudgetMiB, tr("CPU only"),
                            tr("VRAM Strata may use on the GPU; 0 runs on the CPU."));
    vramBudget_->setObjectName(QStringLiteral("vramBudgetSpin"));
    form->addRow(tr("&VRAM budget:"), vramBudget_);
    kvBudget_ = mebibytes(settings.kvBudgetMiB, tr("no limit"),
                          tr("KV cache kept in memory; older blocks are read back from the session's files."));
    kvBudget_->setObjectName(QStringLiteral("kvBudgetSpin"));
    form->addRow(tr("&KV cache in memory:"), kvBudget_);

    sessionsFolder_ = new QLineEdit(settings.sessionsFolder);
    sessionsFolder_->setObjectName(QStringLiteral("sessionsFolderEdit"));
    sessionsFolder_->setPlaceholderText(tr("default (~/.local/share/strata/sessions)"));
    sessionsFolder_->setToolTip(tr("Where sessions and their KV caches are saved: put it on a fast SSD."));
    auto* browse = new QPushButton(tr("Browse…"));
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Session folder"), sessionsFolder_->text());
        if (!dir.isEmpty()) sessionsFolder_->setText(dir);
    });
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(sessionsFolder_, 1);
    folderRow->addWidget(browse);
    form->addRow(tr("&Session folder:"), folderRow);

    maxTokens_ = new QSpinBox;
    maxTokens_->setObjectName(QStringLiteral("maxTokensSpin"));
    maxTokens_->setRange(1, 1 << 20);
    maxTokens_->setValue(int(settings.maxAnswerTokens));
    maxTokens_->setToolTip(tr("The longest answer, in tokens."));
    form->addRow(tr("&Answer length:"), maxTokens_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(buttons);
}

AppSettings SettingsDialog::settings() const {
    AppSettings s = base_;
    s.modelFolders.clear();
    for (const QString& line : folders_->toPlainText().split(QLatin1Char('\n'), Qt::SkipEmptyParts))
        if (!line.trimmed().isEmpty()) s.modelFolders << line.trimmed();
    s.ramBudgetMiB = ramBudget_->value();
    s.vramBudgetMiB = vramBudget_->value();
    s.kvBudgetMiB = kvBudget_->value();
    s.sessionsFolder = sessionsFolder_->text().trimmed();
    s.maxAnswerTokens = maxTokens_->value();
    return s;
}

}  // namespace strata::ui
