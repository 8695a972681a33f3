// The document tray with real files: dropped as a file manager drops them, read off the UI
// thread, counted with the tiny Llama's tokenizer and weighed against the context.
#include <QtTest>

#include <QAbstractItemModel>
#include <QApplication>
#include <QDir>
#include <QDragEnterEvent>
#include <QDragMoveEvent>
#include <QDropEvent>
#include <QFile>
#include <QLabel>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QThread>
#include <QHeaderView>
#include <QScrollBar>
#include <QTreeView>

#include <algorithm>
#include <atomic>
#include <memory>

#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "DocumentTray.h"
#include "tokenizer/Tokenizer.h"

using strata::ui::DocumentTray;
using strata::testsupport::writeFile;

namespace {

constexpr int kReadTimeoutMs = 30000;

struct Drag {
    bool enterAccepted = false;
    bool dropAccepted = false;
};

// Enter, move and drop, in the order a window system delivers them.
Drag dragOnto(QWidget* target, const QMimeData& mime) {
    const QPoint at = target->rect().center();
    Drag drag;
    QDragEnterEvent enter(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    enter.ignore();
    QApplication::sendEvent(target, &enter);
    drag.enterAccepted = enter.isAccepted();
    if (!drag.enterAccepted) return drag;
    QDragMoveEvent move(at, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    move.ignore();
    QApplication::sendEvent(target, &move);
    QDropEvent drop(QPointF(at), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    drop.ignore();
    QApplication::sendEvent(target, &drop);
    drag.dropAccepted = drop.isAccepted();
    return drag;
}

Drag dropFiles(QWidget* target, const QStringList& paths) {
    QMimeData mime;
    QList<QUrl> urls;
    for (const QString& path : paths) urls << QUrl::fromLocalFile(path);
    mime.setUrls(urls);
    return dragOnto(target, mime);
}

QString path(const std::filesystem::path& p) { return QString::fromStdString(p.string()); }

int rowNamed(const QAbstractItemModel* model, const QString& name) {
    for (int r = 0; r < model->rowCount(); ++r)
        if (model->index(r, DocumentTray::NameColumn).data().toString() == name) return r;
    return -1;
}

QString cell(const QAbstractItemModel* model, int row, int column, int role = Qt::DisplayRole) {
    return model->index(row, column).data(role).toString();
}

QVariant tokensOf(const QAbstractItemModel* model, int row) {
    return model->index(row, DocumentTray::TokensColumn).data(DocumentTray::TokensRole);
}

}  // namespace

class TestDocumentTray : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<strata::Tokenizer> tokenizer_;
    QTemporaryDir dir_;
    QString crlfLog_, notes_, image_, core_, pdf_;
    Qt::HANDLE uiThread_ = nullptr;
    // Where countTokens ran; shared with the lambdas, which may outlive a test function.
    std::shared_ptr<std::atomic<int>> countsOnUi_ = std::make_shared<std::atomic<int>>(0);
    std::shared_ptr<std::atomic<int>> countsOffUi_ = std::make_shared<std::atomic<int>>(0);

    strata::ModelInputs llama(int64_t context) {
        strata::ModelInputs inputs;
        inputs.modelName = "llama";
        inputs.contextTokens = context;
        const strata::Tokenizer* tokenizer = tokenizer_.get();
        inputs.countTokens = [tokenizer, ui = uiThread_, on = countsOnUi_, off = countsOffUi_](std::string_view text) {
            (QThread::currentThreadId() == ui ? *on : *off) += 1;
            return int64_t(tokenizer->encode(text, false).size());
        };
        return inputs;
    }

    QAbstractItemModel* modelOf(DocumentTray& tray) {
        return tray.findChild<QTreeView*>(QStringLiteral("trayView"))->model();
    }

private slots:
    void initTestCase() {
        uiThread_ = QThread::currentThreadId();
        auto tokenizer = strata::loadTokenizer(strata::testsupport::testDataDir() / "models" / "llama_tied");
        QVERIFY2(tokenizer.ok(), tokenizer.ok() ? "" : tokenizer.error().message.c_str());
        tokenizer_ = std::move(tokenizer).value();
        QVERIFY(dir_.isValid());

        std::string log;
        for (int i = 0; i < 40; ++i)
            log += "2025-03-01 12:00:" + std::to_string(10 + i) + " INFO worker " + std::to_string(i) +
                   " finished its batch\r\n";
        crlfLog_ = path(writeFile(dir_, "service.log", log));
        notes_ = path(writeFile(dir_, "notes.txt", "Strata reads documents beside the question.\nA second line.\n"));
        image_ = dir_.filePath(QStringLiteral("checker.png"));
        QVERIFY(QFile::copy(strata::testsupport::testDataPath("images/checker.png"), image_));
        core_ = path(writeFile(dir_, "core.log", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0core dump\0\0\x03\0", 27)));
        pdf_ = strata::testsupport::testDataPath("pdf/encrypted.pdf");
        QVERIFY(QFileInfo::exists(pdf_));
    }

    void droppedFilesAreReadAndCounted() {
        DocumentTray tray;
        QCOMPARE(tray.objectName(), QStringLiteral("documentTray"));
        // The tiny Llama's small vocabulary makes many tokens of the log.
        tray.setModelInputs(llama(4096));
        QSignalSpy busySpy(&tray, &DocumentTray::busyChanged);
        QSignalSpy changedSpy(&tray, &DocumentTray::changed);
        *countsOnUi_ = 0;
        *countsOffUi_ = 0;

        const Drag drag = dropFiles(&tray, {crlfLog_, notes_, image_, core_, pdf_});
        QVERIFY(drag.enterAccepted);
        QVERIFY(drag.dropAccepted);
        QCOMPARE(tray.fileCount(), 5);
        QVERIFY(tray.busy());
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QVERIFY(busySpy.count() >= 2);
        QCOMPARE(busySpy.first().first().toBool(), true);
        QCOMPARE(busySpy.last().first().toBool(), false);
        QCOMPARE(changedSpy.count(), 5);

        // Counting happened on worker threads only: the UI thread never ran the tokenizer.
        QVERIFY(*countsOffUi_ > 0);
        QCOMPARE(countsOnUi_->load(), 0);

        const QAbstractItemModel* model = modelOf(tray);
        QCOMPARE(model->rowCount(), 5);
        const int log = rowNamed(model, "service.log");
        const int notes = rowNamed(model, "notes.txt");
        const int png = rowNamed(model, "checker.png");
        const int core = rowNamed(model, "core.log");
        const int pdf = rowNamed(model, "encrypted.pdf");
        QVERIFY(log >= 0 && notes >= 0 && png >= 0 && core >= 0 && pdf >= 0);
        QCOMPARE(cell(model, log, DocumentTray::NameColumn, Qt::ToolTipRole), QDir::cleanPath(crlfLog_));

        QVERIFY(tokensOf(model, log).toLongLong() > 0);
        QVERIFY(tokensOf(model, notes).toLongLong() > 0);
        QVERIFY2(cell(model, log, DocumentTray::ContentsColumn).contains("40 lines"),
                 qPrintable(cell(model, log, DocumentTray::ContentsColumn)));
        QCOMPARE(cell(model, log, DocumentTray::TypeColumn), QStringLiteral("plain text"));
        QCOMPARE(cell(model, log, DocumentTray::StatusColumn), QStringLiteral("ready"));
        QVERIFY(!cell(model, notes, DocumentTray::SizeColumn).isEmpty());

        // The image is read and listed, but the text model cannot take it: amber, not red.
        QCOMPARE(cell(model, png, DocumentTray::TypeColumn), QStringLiteral("PNG image"));
        QVERIFY(cell(model, png, DocumentTray::ContentsColumn).contains("pixels"));
        QVERIFY2(cell(model, png, DocumentTray::StatusColumn).contains("takes no images"),
                 qPrintable(cell(model, png, DocumentTray::StatusColumn)));
        const QColor amber = model->index(png, DocumentTray::StatusColumn).data(Qt::ForegroundRole).value<QColor>();
        QVERIFY(amber.isValid() && amber.red() > amber.blue());

        // The binary log and the locked PDF fail on their own, in red, with a reason.
        QVERIFY2(cell(model, core, DocumentTray::StatusColumn).contains("binary"),
                 qPrintable(cell(model, core, DocumentTray::StatusColumn)));
        QVERIFY2(cell(model, pdf, DocumentTray::StatusColumn).contains("encrypted"),
                 qPrintable(cell(model, pdf, DocumentTray::StatusColumn)));
        // The reason leads; the full path stays in the tooltip.
        QVERIFY(!cell(model, core, DocumentTray::StatusColumn).startsWith(dir_.path()));
        QVERIFY(cell(model, core, DocumentTray::StatusColumn, Qt::ToolTipRole).contains("core.log"));
        for (int bad : {core, pdf}) {
            const QColor red = model->index(bad, DocumentTray::StatusColumn).data(Qt::ForegroundRole).value<QColor>();
            QVERIFY(red.isValid() && red.red() > 150 && red.green() < 100);
            QVERIFY(!tokensOf(model, bad).isValid());
            QCOMPARE(cell(model, bad, DocumentTray::TokensColumn), QStringLiteral("—"));
        }

        qlonglong sum = 0;
        for (int r = 0; r < model->rowCount(); ++r) sum += tokensOf(model, r).toLongLong();
        const strata::PromptBudget budget = tray.budget();
        QCOMPARE(qlonglong(budget.partTokens), sum);
        QVERIFY(budget.fits);
        QCOMPARE(budget.unusable.size(), size_t(1));

        const std::vector<strata::PromptPart> parts = tray.parts();
        QCOMPARE(parts.size(), size_t(2));
        // In list order: the log was dropped before the notes.
        QCOMPARE(QString::fromStdString(parts[0].file.filename().string()), QStringLiteral("service.log"));
        QVERIFY(!parts[0].spans.empty());

        auto* bar = tray.findChild<QProgressBar*>(QStringLiteral("contextBar"));
        auto* label = tray.findChild<QLabel*>(QStringLiteral("budgetLabel"));
        QVERIFY(bar && label);
        QVERIFY2(bar->property("level").toString() == QStringLiteral("ok"), qPrintable(bar->text()));
        QVERIFY2(bar->text().contains(QLocale().toString(qlonglong(sum))), qPrintable(bar->text()));
        QVERIFY2(label->text().contains("4,096"),
                 qPrintable(label->text()));
        QVERIFY2(label->text().contains("checker.png"), qPrintable(label->text()));
    }

    void tinyContextDoesNotFitAndNamesTheChoices() {
        DocumentTray tray;
        tray.setModelInputs(llama(20));
        QVERIFY(dropFiles(&tray, {crlfLog_, notes_}).enterAccepted);
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const strata::PromptBudget budget = tray.budget();
        QVERIFY(!budget.fits);
        auto* bar = tray.findChild<QProgressBar*>(QStringLiteral("contextBar"));
        auto* label = tray.findChild<QLabel*>(QStringLiteral("budgetLabel"));
        QCOMPARE(bar->property("level").toString(), QStringLiteral("over"));
        QVERIFY2(bar->text().contains("does not fit"), qPrintable(bar->text()));
        QCOMPARE(bar->value(), bar->maximum());
        QVERIFY2(label->text().contains("does not fit"), qPrintable(label->text()));
        QVERIFY2(label->text().contains("leave files out"), qPrintable(label->text()));
        QVERIFY2(label->text().contains("several passes"), qPrintable(label->text()));
        QVERIFY2(label->text().contains("summarise"), qPrintable(label->text()));
        QVERIFY(label->font().bold());
    }

    void reservedTokensCountAgainstTheContext() {
        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        tray.addFiles({notes_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QVERIFY(tray.budget().fits);
        QSignalSpy changedSpy(&tray, &DocumentTray::changed);
        tray.setReservedTokens(2040);
        QCOMPARE(changedSpy.count(), 1);
        QCOMPARE(qlonglong(tray.budget().reservedTokens), qlonglong(2040));
        QVERIFY(!tray.budget().fits);
        QCOMPARE(tray.findChild<QProgressBar*>(QStringLiteral("contextBar"))->property("level").toString(),
                 QStringLiteral("over"));
    }

    void dragsWithoutFilesAreRefused() {
        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        QMimeData text;
        text.setText(QStringLiteral("just some words"));
        QVERIFY(!dragOnto(&tray, text).enterAccepted);
        QMimeData web;
        web.setUrls({QUrl(QStringLiteral("https://example.org/report.pdf"))});
        QVERIFY(!dragOnto(&tray, web).enterAccepted);
        QCOMPARE(tray.fileCount(), 0);
        QVERIFY(!tray.busy());
    }

    void duplicatesAndFolders() {
        QTemporaryDir folder;
        QVERIFY(folder.isValid());
        writeFile(folder, "a.txt", "alpha\n");
        writeFile(folder, "b.txt", "beta\n");
        QVERIFY(QDir(folder.path()).mkdir(QStringLiteral("nested")));

        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        QVERIFY(dropFiles(&tray, {notes_}).enterAccepted);
        QVERIFY(dropFiles(&tray, {notes_, dir_.path() + QStringLiteral("/./notes.txt")}).enterAccepted);
        QCOMPARE(tray.fileCount(), 1);
        QVERIFY(dropFiles(&tray, {folder.path()}).enterAccepted);
        QCOMPARE(tray.fileCount(), 3);  // the folder's two files; the subfolder is not entered
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QCOMPARE(tray.parts().size(), size_t(3));
        QCOMPARE(tray.files().size(), 3);
    }

    void removingARowUpdatesTheTotal() {
        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        QVERIFY(dropFiles(&tray, {crlfLog_, notes_}).enterAccepted);
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const QAbstractItemModel* model = modelOf(tray);
        const qlonglong notesTokens = tokensOf(model, rowNamed(model, "notes.txt")).toLongLong();
        const qlonglong before = tray.budget().partTokens;

        auto* view = tray.findChild<QTreeView*>(QStringLiteral("trayView"));
        auto* remove = tray.findChild<QPushButton*>(QStringLiteral("removeFilesButton"));
        QVERIFY(view && remove);
        QVERIFY(!remove->isEnabled());
        view->selectionModel()->select(model->index(rowNamed(model, "service.log"), 0),
                                       QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QVERIFY(remove->isEnabled());
        QSignalSpy changedSpy(&tray, &DocumentTray::changed);
        remove->click();
        QCOMPARE(changedSpy.count(), 1);
        QCOMPARE(tray.fileCount(), 1);
        QCOMPARE(qlonglong(tray.budget().partTokens), notesTokens);
        QVERIFY(notesTokens < before);
        QVERIFY(tray.findChild<QProgressBar*>(QStringLiteral("contextBar"))->text().contains(QLocale().toString(notesTokens)));

        tray.clear();
        QCOMPARE(tray.fileCount(), 0);
        QCOMPARE(qlonglong(tray.budget().partTokens), qlonglong(0));
    }

    void deleteKeyRemovesTheSelection() {
        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        tray.addFiles({notes_, crlfLog_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        tray.show();
        tray.activateWindow();
        if (!QTest::qWaitForWindowActive(&tray)) QSKIP("the platform gives the window no focus, so keys cannot reach it");
        auto* view = tray.findChild<QTreeView*>(QStringLiteral("trayView"));
        view->setFocus();
        view->selectionModel()->select(view->model()->index(0, 0),
                                       QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QTest::keyClick(view, Qt::Key_Delete);
        QCOMPARE(tray.fileCount(), 1);
        QCOMPARE(tray.files().front(), QDir::cleanPath(crlfLog_));
    }

    void noModelReadsButDoesNotCountUntilOneIsChosen() {
        DocumentTray tray;
        QVERIFY(!tray.hasModel());
        QVERIFY(dropFiles(&tray, {notes_, image_}).enterAccepted);
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const QAbstractItemModel* model = modelOf(tray);
        const int notes = rowNamed(model, "notes.txt");
        QCOMPARE(cell(model, notes, DocumentTray::TokensColumn), QStringLiteral("—"));
        QVERIFY(cell(model, notes, DocumentTray::StatusColumn).contains("no model chosen"));
        QVERIFY(cell(model, notes, DocumentTray::ContentsColumn).contains("2 lines"));
        QVERIFY(!tray.budget().fits);
        QVERIFY(tray.findChild<QLabel*>(QStringLiteral("budgetLabel"))->text().contains("No model chosen"));

        // Choosing a model counts every listed file again, off the UI thread.
        *countsOnUi_ = 0;
        tray.setModelInputs(llama(2048));
        QVERIFY(tray.busy());
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QCOMPARE(countsOnUi_->load(), 0);
        QVERIFY(tokensOf(model, notes).toLongLong() > 0);
        QVERIFY(cell(model, rowNamed(model, "checker.png"), DocumentTray::StatusColumn).contains("takes no images"));
        QVERIFY(tray.budget().fits);
        QCOMPARE(tray.parts().size(), size_t(1));
    }

    void removingAFileWhileItIsReadLeavesNoTrace() {
        DocumentTray tray;
        tray.setModelInputs(llama(2048));
        tray.addFiles({crlfLog_, notes_, image_});
        tray.clear();
        QVERIFY(!tray.busy());
        tray.addFiles({notes_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QCOMPARE(tray.fileCount(), 1);
        QCOMPARE(tray.parts().size(), size_t(1));
        // Reads abandoned by clear() finish later and must not touch the new list.
        QTest::qWait(200);
        QCOMPARE(tray.fileCount(), 1);
        QCOMPARE(tray.parts().size(), size_t(1));
    }

    void lockedPdfOpensWithItsPassword() {
        DocumentTray tray;
        tray.setModelInputs(llama(4096));
        tray.addFiles({pdf_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), 20000);
        QAbstractItemModel* model = modelOf(tray);
        QVERIFY(cell(model, 0, DocumentTray::StatusColumn).contains(QStringLiteral("encrypted")));
        QVERIFY(cell(model, 0, DocumentTray::StatusColumn, Qt::ToolTipRole).contains(QStringLiteral("password")));
        QVERIFY(tray.parts().empty());

        tray.setPassword(pdf_, QStringLiteral("wrong"));
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), 20000);
        QVERIFY(cell(model, 0, DocumentTray::StatusColumn).contains(QStringLiteral("does not open")));

        tray.setPassword(pdf_, QStringLiteral("strata-user"));
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), 20000);
        QCOMPARE(cell(model, 0, DocumentTray::StatusColumn), QStringLiteral("ready"));
        QCOMPARE(tray.parts().size(), size_t(1));
        QVERIFY(tray.budget().partTokens > 0);
    }

    void typeColumnSaysWhatTheFileIs() {
        DocumentTray tray;
        tray.setModelInputs(llama(4096));
        tray.addFiles({crlfLog_, core_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const QAbstractItemModel* model = modelOf(tray);
        const std::vector<strata::PromptPart> parts = tray.parts();
        QCOMPARE(parts.size(), size_t(1));
        // What ingest found the file to be, also for a file it could not read.
        QCOMPARE(cell(model, rowNamed(model, "service.log"), DocumentTray::TypeColumn), QStringLiteral("plain text"));
        QCOMPARE(QString::fromStdString(parts.front().format), QStringLiteral("plain text"));
        QCOMPARE(cell(model, rowNamed(model, "core.log"), DocumentTray::TypeColumn), QStringLiteral("unknown binary data"));
    }

    void aBadFileSaysWhyOnItsRowAndBelowTheList() {
        DocumentTray tray;
        tray.setModelInputs(llama(4096));
        tray.resize(360, 480);
        tray.show();
        QVERIFY(QTest::qWaitForWindowExposed(&tray));
        auto* problems = tray.findChild<QLabel*>(QStringLiteral("trayProblems"));
        QVERIFY(problems);
        QVERIFY(!problems->isVisible());
        tray.addFiles({notes_, core_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const QAbstractItemModel* model = modelOf(tray);
        const int core = rowNamed(model, "core.log");
        const QString reason = cell(model, core, DocumentTray::StatusColumn);
        QVERIFY2(reason.contains("binary"), qPrintable(reason));
        // Wherever the pointer rests on the row, the error shows; the name keeps its path.
        for (int column = 0; column < DocumentTray::ColumnCount; ++column)
            QVERIFY2(cell(model, core, column, Qt::ToolTipRole).contains(reason), qPrintable(QString::number(column)));
        QVERIFY(cell(model, core, DocumentTray::NameColumn, Qt::ToolTipRole).startsWith(QDir::cleanPath(core_)));
        QVERIFY(!cell(model, rowNamed(model, "notes.txt"), DocumentTray::NameColumn, Qt::ToolTipRole).contains(reason));
        // And in full below the list, however narrow the tray.
        QVERIFY(problems->isVisible());
        QCOMPARE(problems->text(), QStringLiteral("core.log: ") + reason);
        QVERIFY(tray.rect().contains(QRect(problems->mapTo(&tray, QPoint(0, 0)), problems->size())));

        tray.clear();
        QVERIFY(!problems->isVisible());
    }

    void columnsFitTheirContent() {
        DocumentTray tray;
        tray.setModelInputs(llama(4096));
        tray.resize(900, 400);
        tray.show();
        QVERIFY(QTest::qWaitForWindowExposed(&tray));
        tray.addFiles({crlfLog_, notes_, image_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        auto* view = tray.findChild<QTreeView*>(QStringLiteral("trayView"));
        // Every column but the last (which takes the rest) is as wide as its widest text and its title.
        const QAbstractItemModel* model = view->model();
        for (int column = 0; column < DocumentTray::StatusColumn; ++column) {
            int wanted = view->header()->sectionSizeHint(column);
            for (int row = 0; row < model->rowCount(); ++row)
                wanted = std::max(wanted, view->fontMetrics().horizontalAdvance(cell(model, row, column)));
            QTRY_VERIFY2(view->columnWidth(column) >= wanted,
                         qPrintable(QStringLiteral("column %1: %2 < %3").arg(column).arg(view->columnWidth(column)).arg(wanted)));
        }
        // The status takes the rest, and no more: the list does not scroll sideways.
        QTRY_COMPARE(view->header()->length(), view->viewport()->width());
        QCOMPARE(view->horizontalScrollBar()->maximum(), 0);
    }

    void aLoadingModelIsSaidNotNoModel() {
        DocumentTray tray;
        tray.setModelLoading(QStringLiteral("gemma-3-270m-q4_k_m.gguf"));
        tray.addFiles({notes_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        const QAbstractItemModel* model = modelOf(tray);
        auto* bar = tray.findChild<QProgressBar*>(QStringLiteral("contextBar"));
        auto* label = tray.findChild<QLabel*>(QStringLiteral("budgetLabel"));
        QVERIFY2(bar->text().contains("Loading gemma-3-270m-q4_k_m.gguf"), qPrintable(bar->text()));
        QVERIFY2(label->text().contains("gemma-3-270m-q4_k_m.gguf"), qPrintable(label->text()));
        QStringList said{bar->text(), label->text(), QString::fromStdString(tray.budget().summary)};
        for (int column = 0; column < DocumentTray::ColumnCount; ++column)
            said << cell(model, 0, column) << cell(model, 0, column, Qt::ToolTipRole);
        for (const QString& text : said) QVERIFY2(!text.contains("no model chosen", Qt::CaseInsensitive), qPrintable(text));
        QVERIFY(cell(model, 0, DocumentTray::StatusColumn).contains("loading"));

        // It failed: nothing is loading, and no model is chosen.
        tray.setModelLoading(QString());
        QVERIFY(bar->text().contains("No model chosen"));
        QVERIFY(cell(model, 0, DocumentTray::StatusColumn).contains("no model chosen"));
        // It loaded: the counts replace the message.
        tray.setModelLoading(QStringLiteral("llama"));
        tray.setModelInputs(llama(4096));
        QVERIFY(tray.modelLoading().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QVERIFY2(!bar->text().contains("Loading"), qPrintable(bar->text()));
    }

    void filesWithoutTextAreNamed() {
        const QString blank = path(writeFile(dir_, "blank.txt", " \n\n  \n"));
        DocumentTray tray;
        tray.setModelInputs(llama(4096));
        tray.addFiles({notes_, blank});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QCOMPARE(tray.missingText(), QStringList{QStringLiteral("blank.txt: yields no text; the model will not see it.")});
        tray.clear();
        tray.addFiles({notes_});
        QTRY_VERIFY_WITH_TIMEOUT(!tray.busy(), kReadTimeoutMs);
        QVERIFY(tray.missingText().isEmpty());
    }

    void controlsAreNamedAndExplained() {
        DocumentTray tray;
        for (const char* name : {"trayView", "addFilesButton", "removeFilesButton", "contextBar", "budgetLabel", "trayProblems"}) {
            auto* widget = tray.findChild<QWidget*>(QString::fromLatin1(name));
            QVERIFY2(widget, name);
            QVERIFY2(!widget->accessibleName().isEmpty(), name);
            if (QByteArray(name) != "budgetLabel" && QByteArray(name) != "trayProblems")
                QVERIFY2(!widget->toolTip().isEmpty(), name);
        }
        QVERIFY(tray.acceptDrops());
    }
};

QTEST_MAIN(TestDocumentTray)
#include "test_document_tray.moc"
