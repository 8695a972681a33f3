// strata-cli sessions against a store written with SessionStore: listing, search, show, export
// and delete as a user runs them, and exit code 2 with one clear line for a wrong id or format.
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "CliRunner.h"
#include "session/SessionStore.h"

namespace fs = std::filesystem;
using namespace strata;

class TestCliSessions : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString store_;
    std::string older_, newer_;

    CliRun sessions(QStringList args) {
        args.prepend("sessions");
        args << "--store" << store_;
        return runCli(args, 60000);
    }
    void expectBadInput(const QStringList& args, const QStringList& mentions) { verifyBadInput(sessions(args), mentions); }
    static Turn turn(TurnRole role, std::string text) {
        Turn t;
        t.role = role;
        t.text = std::move(text);
        t.tokenCount = 5;
        return t;
    }

private slots:
    void initTestCase() {
        QVERIFY(tmp_.isValid());
        const fs::path root = fs::path(tmp_.path().toStdString()) / "store";
        store_ = QString::fromStdString(root.string());
        auto store = SessionStore::open(root);
        QVERIFY2(store.ok(), store.ok() ? "" : store.error().message.c_str());

        SessionInfo a;
        a.title = "Pump station incident";
        a.modelPath = "/models/gemma-3-270m-q4_k_m.gguf";
        a.contextTokens = 321;
        auto idA = (*store)->createSession(a);
        QVERIFY(idA.ok());
        older_ = *idA;
        QVERIFY((*store)->appendTurn(older_, turn(TurnRole::User, "What failed at the pump station?")).ok());
        QVERIFY((*store)->appendTurn(older_, turn(TurnRole::Assistant, "The second impeller seal.")).ok());
        const fs::path report = fs::path(tmp_.path().toStdString()) / "report.txt";
        std::ofstream(report) << "Seal failure at 03:10.\n";
        auto att = (*store)->addAttachment(older_, report, "text", 9);
        QVERIFY2(att.ok(), att.ok() ? "" : att.error().message.c_str());

        SessionInfo b;
        b.title = "Recipe ideas";
        b.modelPath = "/models/qwen3";
        auto idB = (*store)->createSession(b);
        QVERIFY(idB.ok());
        newer_ = *idB;
        QVERIFY((*store)->appendTurn(newer_, turn(TurnRole::User, "Something with lentils?")).ok());
    }

    void listNewestFirst() {
        const CliRun r = sessions({"list"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const qsizetype a = r.out.indexOf(QString::fromStdString(older_));
        const qsizetype b = r.out.indexOf(QString::fromStdString(newer_));
        QVERIFY2(a >= 0 && b >= 0, qPrintable(r.out));
        QVERIFY2(b < a, qPrintable(r.out));
        QVERIFY(r.out.contains("Pump station incident"));
        QVERIFY(r.out.contains("Recipe ideas"));
    }
    void listFromEnvironment() {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("STRATA_SESSIONS_DIR", store_);
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(STRATA_CLI_PATH), {"sessions", "list"});
        QVERIFY(p.waitForFinished(60000));
        QCOMPARE(p.exitCode(), 0);
        QVERIFY(QString::fromUtf8(p.readAllStandardOutput()).contains(QString::fromStdString(older_)));
    }
    void searchFilters() {
        const CliRun r = sessions({"list", "--search", "IMPELLER"});  // matches a turn, not the title
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains(QString::fromStdString(older_)));
        QVERIFY(!r.out.contains(QString::fromStdString(newer_)));
        const CliRun none = sessions({"list", "--search", "zebra"});
        QCOMPARE(none.exitCode, 0);
        QVERIFY2(none.out.contains("no saved sessions"), qPrintable(none.out));
    }
    void listJson() {
        const CliRun r = sessions({"list", "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto doc = nlohmann::json::parse(r.out.toStdString(), nullptr, false);
        QVERIFY2(doc.is_array() && doc.size() == 2, qPrintable(r.out));
        QCOMPARE(doc[0]["id"].get<std::string>(), newer_);
        QCOMPARE(doc[1]["id"].get<std::string>(), older_);
        QCOMPARE(doc[1]["turns"].get<int>(), 2);
        QCOMPARE(doc[1]["context_tokens"].get<int>(), 321);
        QCOMPARE(doc[1]["state"].get<std::string>(), std::string("ready"));
    }
    void emptyStore() {
        const QString empty = tmp_.path() + "/empty";
        const CliRun r = runCli({"sessions", "list", "--store", empty}, 60000);
        QCOMPARE(r.exitCode, 0);
        QVERIFY2(r.out.contains("no saved sessions in " + empty), qPrintable(r.out));
    }
    void showPrintsTurnsInOrder() {
        const CliRun r = sessions({"show", QString::fromStdString(older_)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("Pump station incident"));
        QVERIFY(r.out.contains("/models/gemma-3-270m-q4_k_m.gguf"));
        QVERIFY(r.out.contains("321 tokens"));
        QVERIFY2(r.out.contains("report.txt"), qPrintable(r.out));
        const qsizetype q = r.out.indexOf("user: What failed at the pump station?");
        const qsizetype a = r.out.indexOf("assistant: The second impeller seal.");
        QVERIFY2(q >= 0 && a > q, qPrintable(r.out));
    }
    void exportMarkdownToStdout() {
        const CliRun r = sessions({"export", QString::fromStdString(older_), "--format", "md"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("Pump station incident"));
        const qsizetype q = r.out.indexOf("What failed at the pump station?");
        const qsizetype a = r.out.indexOf("The second impeller seal.");
        QVERIFY2(q >= 0 && a > q, qPrintable(r.out));
    }
    void exportJsonToFile() {
        const CliRun r = sessions({"export", QString::fromStdString(older_), "--format", "json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const auto doc = nlohmann::json::parse(r.out.toStdString(), nullptr, false);
        QVERIFY2(doc.is_object(), qPrintable(r.out));
        QCOMPARE(doc["turns"].size(), size_t(2));
        QCOMPARE(doc["turns"][1]["text"].get<std::string>(), std::string("The second impeller seal."));

        const QString out = tmp_.path() + "/export.json";
        const CliRun w = sessions({"export", QString::fromStdString(older_), "--format=json", "--out", out});
        QVERIFY2(w.exitCode == 0, qPrintable(w.err));
        QVERIFY(w.out.isEmpty());
        QVERIFY2(w.err.contains(out), qPrintable(w.err));
        std::ifstream in(out.toStdString());
        const std::string written{std::istreambuf_iterator<char>(in), {}};
        const auto fileDoc = nlohmann::json::parse(written, nullptr, false);
        QVERIFY(!fileDoc.is_discarded());
        QCOMPARE(fileDoc["id"].get<std::string>(), older_);
        QCOMPARE(fileDoc["turns"].size(), size_t(2));
    }
    void badInput() {
        expectBadInput({"show", "0123456789ab"}, {"no session 0123456789ab", store_});
        expectBadInput({"export", "0123456789ab", "--format", "md"}, {"no session 0123456789ab"});
        expectBadInput({"delete", "0123456789ab"}, {"no session 0123456789ab"});
        expectBadInput({"export", QString::fromStdString(older_), "--format", "pdf"}, {"pdf", "md", "json"});
        expectBadInput({"export", QString::fromStdString(older_)}, {"--format"});
        expectBadInput({"show"}, {"session id"});
        expectBadInput({"rename", "x"}, {"rename", "list"});
        expectBadInput({"list", "--frobnicate"}, {"--frobnicate"});
    }
    // Last: it removes one of the sessions the other cases read.
    void deleteRemoves() {
        const CliRun r = sessions({"delete", QString::fromStdString(newer_)});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(r.out.trimmed(), "deleted " + QString::fromStdString(newer_));
        const CliRun after = sessions({"list"});
        QCOMPARE(after.exitCode, 0);
        QVERIFY(!after.out.contains(QString::fromStdString(newer_)));
        QVERIFY(after.out.contains(QString::fromStdString(older_)));
        expectBadInput({"show", QString::fromStdString(newer_)}, {"no session " + QString::fromStdString(newer_)});
    }
};

QTEST_GUILESS_MAIN(TestCliSessions)
#include "test_cli_sessions.moc"
