// The session browser against a real store in a temporary folder: listing newest first, search
// over titles and turns, the review pane, export, rename, delete, continue and resume.
#include <QtTest>

#include <QFile>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QTreeWidget>

#include <algorithm>
#include <memory>
#include <string>

#include "SessionBrowser.h"
#include "SessionListModel.h"
#include "../support/TestFiles.h"
#include "session/SessionStore.h"

using strata::SessionInfo;
using strata::SessionState;
using strata::SessionStore;
using strata::Turn;
using strata::TurnRole;
using strata::ui::SessionBrowser;
using strata::ui::SessionListModel;

namespace {

constexpr int kWaitMs = 10000;

QString qs(const std::string& s) { return QString::fromStdString(s); }

QStringList idsInViewOrder(SessionBrowser& b) {
    auto* table = b.findChild<QTableView*>(QStringLiteral("sessionTable"));
    QStringList ids;
    for (int r = 0; r < table->model()->rowCount(); ++r)
        ids << table->model()->index(r, 0).data(SessionListModel::IdRole).toString();
    return ids;
}

}  // namespace

class TestSessionBrowser : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    QString root_;
    std::unique_ptr<SessionStore> store_;
    std::string windId_, breadId_, pausedId_;

    std::string makeSession(const std::string& title, const std::string& question, const std::string& answer) {
        SessionInfo info;
        info.title = title;
        info.modelPath = "/models/tiny-llama";
        info.contextTokens = 120;
        auto id = store_->createSession(info);
        if (!id.ok()) qFatal("createSession: %s", id.error().message.c_str());
        Turn user;
        user.role = TurnRole::User;
        user.text = question;
        user.tokenCount = 12;
        Turn assistant;
        assistant.role = TurnRole::Assistant;
        assistant.text = answer;
        assistant.tokenCount = 20;
        if (!store_->appendTurn(*id, user).ok() || !store_->appendTurn(*id, assistant).ok()) qFatal("appendTurn");
        return *id;
    }

    // A browser pointed at the store, with its first list loaded.
    bool loadBrowser(SessionBrowser& b) {
        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        b.setStoreRoot(root_);
        return loaded.wait(kWaitMs);
    }

    bool review(SessionBrowser& b, const std::string& id) {
        QSignalSpy reviewed(&b, &SessionBrowser::reviewLoaded);
        b.selectSession(qs(id));
        if (!reviewed.wait(kWaitMs)) return false;
        return b.reviewedId() == qs(id);
    }

private slots:
    void initTestCase() {
        QVERIFY(dir_.isValid());
        root_ = dir_.filePath(QStringLiteral("sessions"));
        auto store = SessionStore::open(root_.toStdString());
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());
        store_ = std::move(store).value();

        // Made in this order, so the newest is the paused one and the oldest the wind one.
        windId_ = makeSession("Wind farm questions", "How often should each turbine blade be inspected?",
                              "**Twice a year**, and after every storm.\n\n- check the leading edge\n- check the bolts");
        const auto notes = strata::testsupport::writeFile(dir_, "inspection-notes.txt", "Blade 3 shows erosion.\n");
        auto attached = store_->addAttachment(windId_, notes, "text", 7);
        QVERIFY2(attached.ok(), attached.ok() ? "" : attached.error().message.c_str());
        breadId_ = makeSession("Sourdough starter", "Why is my starter sluggish?", "It is probably too cold.");
        pausedId_ = makeSession("Long report summary", "Summarise the attached report.", "");
        QVERIFY(store_->setState(pausedId_, SessionState::Paused).ok());
    }

    void cleanupTestCase() { store_.reset(); }

    void listsNewestFirstWithoutBlocking() {
        SessionBrowser b;
        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        b.setStoreRoot(root_);
        // setStoreRoot only starts the work: nothing has landed yet when it returns.
        QCOMPARE(b.sessionModel()->rowCount(), 0);
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(b.sessionModel()->rowCount(), 3);
        QCOMPARE(idsInViewOrder(b), (QStringList{qs(pausedId_), qs(breadId_), qs(windId_)}));

        auto* table = b.findChild<QTableView*>(QStringLiteral("sessionTable"));
        QVERIFY(table);
        QCOMPARE(table->model()->headerData(0, Qt::Horizontal).toString(), QStringLiteral("Title"));
        QCOMPARE(table->model()->index(0, SessionListModel::StateColumn).data().toString(), QStringLiteral("paused"));
        QCOMPARE(table->model()->index(2, SessionListModel::TurnsColumn).data().toLongLong(), 2LL);
        QCOMPARE(table->model()->index(2, SessionListModel::ContextTokensColumn).data().toLongLong(), 120LL);
        QVERIFY(!table->model()->index(0, SessionListModel::UpdatedColumn).data().toString().isEmpty());

        // Sorting by another column is a view matter: the model keeps its rows.
        table->sortByColumn(SessionListModel::TitleColumn, Qt::AscendingOrder);
        QCOMPARE(idsInViewOrder(b), (QStringList{qs(pausedId_), qs(breadId_), qs(windId_)}));
        table->sortByColumn(SessionListModel::TitleColumn, Qt::DescendingOrder);
        QCOMPARE(idsInViewOrder(b), (QStringList{qs(windId_), qs(breadId_), qs(pausedId_)}));

        // As a user does it: a click on the Updated header, then another to flip the order.
        b.resize(900, 500);
        b.show();
        QVERIFY(QTest::qWaitForWindowExposed(&b));
        QHeaderView* header = table->horizontalHeader();
        const QPoint updatedHeader(header->sectionViewportPosition(SessionListModel::UpdatedColumn) +
                                       header->sectionSize(SessionListModel::UpdatedColumn) / 2,
                                   header->height() / 2);
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, updatedHeader);
        const QStringList once = idsInViewOrder(b);
        QTest::mouseClick(header->viewport(), Qt::LeftButton, {}, updatedHeader);
        const QStringList twice = idsInViewOrder(b);
        QCOMPARE(header->sortIndicatorSection(), int(SessionListModel::UpdatedColumn));
        QStringList reversed = once;
        std::reverse(reversed.begin(), reversed.end());
        QCOMPARE(twice, reversed);
        QVERIFY(once == (QStringList{qs(windId_), qs(breadId_), qs(pausedId_)}) ||
                twice == (QStringList{qs(windId_), qs(breadId_), qs(pausedId_)}));
    }

    void aRunningJobsStateShowsUntilTheStoredOneIsRead() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        auto* table = b.findChild<QTableView*>(QStringLiteral("sessionTable"));
        const auto shownState = [&](const std::string& id) {
            for (int r = 0; r < table->model()->rowCount(); ++r)
                if (table->model()->index(r, 0).data(SessionListModel::IdRole).toString() == qs(id))
                    return table->model()->index(r, SessionListModel::StateColumn).data().toString();
            return QString();
        };
        QCOMPARE(shownState(breadId_), QStringLiteral("ready"));
        b.showLiveState(qs(breadId_), QStringLiteral("answering"), QStringLiteral("The job is writing its answer"));
        QCOMPARE(shownState(breadId_), QStringLiteral("answering"));
        QCOMPARE(shownState(windId_), QStringLiteral("ready"));
        // A reload while the job runs keeps saying what it does.
        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        b.refresh();
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(shownState(breadId_), QStringLiteral("answering"));
        // The job ended: the stored state again, once the list is read afresh.
        b.showStoredState(qs(breadId_));
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(shownState(breadId_), QStringLiteral("ready"));
        QVERIFY(b.sessionModel()->liveState(qs(breadId_)).isEmpty());
    }

    void searchNarrowsByTurnText() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        auto* search = b.findChild<QLineEdit*>(QStringLiteral("sessionSearch"));
        QVERIFY(search);
        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        // "turbine" is only in a turn, not in any title.
        search->setText(QStringLiteral("turbine"));
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(idsInViewOrder(b), QStringList{qs(windId_)});

        // Typing a word queries once, after the typing stops, not once per key.
        search->clear();
        QVERIFY(loaded.wait(kWaitMs));
        loaded.clear();
        QTest::keyClicks(search, QStringLiteral("starter"));
        QVERIFY(loaded.wait(kWaitMs));
        QTest::qWait(400);
        QCOMPARE(loaded.count(), 1);
        QCOMPARE(idsInViewOrder(b), QStringList{qs(breadId_)});

        search->setText(QStringLiteral("SOURDOUGH"));
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(idsInViewOrder(b), QStringList{qs(breadId_)});

        search->clear();
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(b.sessionModel()->rowCount(), 3);
    }

    void reviewShowsTranscriptAndAttachments() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        QVERIFY(b.selectedId().isEmpty());
        QVERIFY(review(b, windId_));
        QCOMPARE(b.selectedId(), qs(windId_));

        auto* title = b.findChild<QLabel*>(QStringLiteral("reviewTitle"));
        QCOMPARE(title->text(), QStringLiteral("Wind farm questions"));
        auto* details = b.findChild<QLabel*>(QStringLiteral("reviewDetails"));
        QVERIFY(details->text().contains(QStringLiteral("/models/tiny-llama")));
        QVERIFY(details->text().contains(QStringLiteral("ready")));

        auto* transcript = b.findChild<QTextBrowser*>(QStringLiteral("reviewTranscript"));
        const QString text = transcript->toPlainText();
        QVERIFY2(text.contains(QStringLiteral("How often should each turbine blade be inspected?")), qPrintable(text));
        // The answer is rendered from Markdown: the emphasis markers are gone, the words remain.
        QVERIFY2(text.contains(QStringLiteral("Twice a year")), qPrintable(text));
        QVERIFY2(!text.contains(QStringLiteral("**Twice")), qPrintable(text));
        QVERIFY(text.contains(QStringLiteral("check the bolts")));

        auto* attachments = b.findChild<QTreeWidget*>(QStringLiteral("reviewAttachments"));
        QCOMPARE(attachments->topLevelItemCount(), 1);
        QTreeWidgetItem* item = attachments->topLevelItem(0);
        QCOMPARE(item->text(0), QStringLiteral("inspection-notes.txt"));
        QCOMPARE(item->text(1), QStringLiteral("text"));
        QCOMPARE(item->text(2), QStringLiteral("7"));
        auto stored = store_->attachments(windId_);
        QVERIFY(stored.ok());
        QVERIFY(qs(stored->front().sha256).startsWith(item->text(3)));
        QVERIFY(item->text(3).size() >= 8);
    }

    void continueAndResume() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        auto* cont = b.findChild<QPushButton*>(QStringLiteral("continueButton"));
        auto* resume = b.findChild<QPushButton*>(QStringLiteral("resumeButton"));
        QVERIFY(cont && resume);
        QVERIFY(!cont->isEnabled());  // nothing selected

        QVERIFY(review(b, breadId_));
        QVERIFY(cont->isEnabled());
        QVERIFY(resume->isHidden());
        QSignalSpy continued(&b, &SessionBrowser::continueRequested);
        QTest::mouseClick(cont, Qt::LeftButton);
        QCOMPARE(continued.count(), 1);
        QCOMPARE(continued.first().first().toString(), qs(breadId_));

        QVERIFY(review(b, pausedId_));
        QVERIFY(!cont->isEnabled());
        QVERIFY(!resume->isHidden());
        QVERIFY(resume->isEnabled());
        QSignalSpy resumed(&b, &SessionBrowser::resumeRequested);
        QTest::mouseClick(resume, Qt::LeftButton);
        QCOMPARE(resumed.count(), 1);
        QCOMPARE(resumed.first().first().toString(), qs(pausedId_));
        QTest::mouseClick(cont, Qt::LeftButton);  // disabled: no follow-up on a paused session
        QCOMPARE(continued.count(), 1);
    }

    void exportsMarkdownAndJson() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        QSignalSpy exported(&b, &SessionBrowser::exportFinished);

        const QString md = dir_.filePath(QStringLiteral("wind.md"));
        b.exportTo(qs(windId_), md, false);
        QVERIFY(exported.wait(kWaitMs));
        QFile mdFile(md);
        QVERIFY(mdFile.open(QIODevice::ReadOnly));
        const QString mdText = QString::fromUtf8(mdFile.readAll());
        QVERIFY(mdText.contains(QStringLiteral("How often should each turbine blade be inspected?")));
        QVERIFY(mdText.contains(QStringLiteral("Wind farm questions")));

        const QString json = dir_.filePath(QStringLiteral("wind.json"));
        b.exportTo(qs(windId_), json, true);
        QVERIFY(exported.wait(kWaitMs));
        QFile jsonFile(json);
        QVERIFY(jsonFile.open(QIODevice::ReadOnly));
        QJsonParseError parseError;
        const QJsonDocument doc = QJsonDocument::fromJson(jsonFile.readAll(), &parseError);
        QVERIFY2(doc.isObject(), qPrintable(parseError.errorString()));
        QCOMPARE(doc.object().value(QStringLiteral("format")).toString(), QStringLiteral("strata-session"));
        const QJsonArray turns = doc.object().value(QStringLiteral("turns")).toArray();
        QCOMPARE(turns.size(), 2);
        QVERIFY(turns.at(0).toObject().value(QStringLiteral("text")).toString().contains(QStringLiteral("turbine")));

        // A bad session or folder is reported, not thrown.
        QSignalSpy errors(&b, &SessionBrowser::errorOccurred);
        b.exportTo(QStringLiteral("000000000000"), dir_.filePath(QStringLiteral("none.md")), false);
        QVERIFY(errors.wait(kWaitMs));
        QVERIFY(!QFile::exists(dir_.filePath(QStringLiteral("none.md"))));
        QVERIFY(!SessionBrowser::writeExport(root_, qs(windId_), dir_.filePath(QStringLiteral("no/such/dir/x.md")), false).ok());
    }

    void brokenStoreIsReported() {
        QTemporaryDir other;
        QVERIFY(other.isValid());
        strata::testsupport::writeFile(other, SessionStore::kDatabaseName, "this is not a database at all, not even close");
        SessionBrowser b;
        QSignalSpy errors(&b, &SessionBrowser::errorOccurred);
        b.setStoreRoot(other.path());
        QVERIFY(errors.wait(kWaitMs));
        QCOMPARE(b.sessionModel()->rowCount(), 0);
        auto* status = b.findChild<QLabel*>(QStringLiteral("sessionStatus"));
        QVERIFY(status->text().contains(other.path()));
    }

    void emptyFolderListsNothing() {
        QTemporaryDir other;
        QVERIFY(other.isValid());
        SessionBrowser b;
        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        b.setStoreRoot(other.filePath(QStringLiteral("nothing-here")));
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(b.sessionModel()->rowCount(), 0);
        // Browsing does not create a store.
        QVERIFY(!QFile::exists(other.filePath(QStringLiteral("nothing-here"))));
    }

    // Runs last: it changes the shared store.
    void renameThenDelete() {
        SessionBrowser b;
        QVERIFY(loadBrowser(b));
        QVERIFY(review(b, breadId_));
        QSignalSpy changed(&b, &SessionBrowser::sessionsChanged);
        QSignalSpy reviewed(&b, &SessionBrowser::reviewLoaded);
        b.renameSession(qs(breadId_), QStringLiteral("Bread starter"));
        QVERIFY(reviewed.wait(kWaitMs));
        QCOMPARE(changed.count(), 1);
        QCOMPARE(b.findChild<QLabel*>(QStringLiteral("reviewTitle"))->text(), QStringLiteral("Bread starter"));
        QCOMPARE(b.sessionModel()->sessionAt(b.sessionModel()->rowOf(qs(breadId_))).title, std::string("Bread starter"));

        QSignalSpy loaded(&b, &SessionBrowser::loaded);
        b.deleteSession(qs(breadId_), false);
        QVERIFY(loaded.wait(kWaitMs));
        QCOMPARE(changed.count(), 2);
        QCOMPARE(b.sessionModel()->rowCount(), 2);
        QCOMPARE(b.sessionModel()->rowOf(qs(breadId_)), -1);
        QVERIFY(b.reviewedId().isEmpty());
        QVERIFY(!b.findChild<QPushButton*>(QStringLiteral("deleteButton"))->isEnabled());
        QVERIFY(!store_->session(breadId_).ok());
    }
};

QTEST_MAIN(TestSessionBrowser)
#include "test_session_browser.moc"
