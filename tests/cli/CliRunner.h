#pragma once
// Runs strata-cli as a user would and captures what it printed.
#include <QLocale>
#include <QProcess>
#include <QRegularExpression>
#include <QStringList>
#include <QtTest>

struct CliRun {
    int exitCode = -1;
    QString out;
    QString err;
    QStringList errLines() const { return err.split('\n', Qt::SkipEmptyParts); }
};

// Every run saves a session, and OCR caches what it read: unless the environment names other
// folders, tests keep theirs in temporary folders of their own rather than the user's.
inline QProcessEnvironment cliEnvironment(const QStringList& extra = {}) {
    static QTemporaryDir sessions, ocrCache;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    if (!env.contains("STRATA_SESSIONS_DIR")) env.insert("STRATA_SESSIONS_DIR", sessions.path());
    if (!env.contains("STRATA_OCR_CACHE_DIR")) env.insert("STRATA_OCR_CACHE_DIR", ocrCache.path());
    for (const QString& kv : extra) env.insert(kv.section('=', 0, 0), kv.section('=', 1));
    return env;
}

// extraEnv: NAME=value entries.
inline CliRun runCli(const QStringList& args, int timeoutMs = 300000, const QStringList& extraEnv = {}) {
    QProcess p;
    p.setProcessEnvironment(cliEnvironment(extraEnv));
    p.start(QStringLiteral(STRATA_CLI_PATH), args);
    CliRun r;
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
        r.err = "timed out";
        return r;
    }
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = QString::fromUtf8(p.readAllStandardOutput());
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

// Checks that a run failed as bad input (exit code 2) with a single stderr line that mentions
// each of `mentions`, and printed nothing on stdout. Qt Test's checks inside: call it, then
// return if QTest::currentTestFailed().
inline void verifyBadInput(const CliRun& r, const QStringList& mentions) {
    QCOMPARE(r.exitCode, 2);
    const QStringList lines = r.errLines();
    QVERIFY2(lines.size() == 1, qPrintable("expected one error line, got: " + r.err));
    QVERIFY2(lines[0].startsWith("strata-cli: error: "), qPrintable(lines[0]));
    for (const QString& m : mentions) QVERIFY2(lines[0].contains(m), qPrintable(lines[0] + " does not mention " + m));
    QVERIFY(r.out.isEmpty());
}

// The number between `before` and `after` in text, as the CLI prints numbers (digits grouped:
// "12,345"); -1 when there is none.
inline qint64 numberBetween(const QString& text, const QString& before, const QString& after) {
    const auto m = QRegularExpression(QRegularExpression::escape(before) + "(\\d[\\d,]*)" +
                                      QRegularExpression::escape(after))
                       .match(text);
    return m.hasMatch() ? m.captured(1).remove(',').toLongLong() : -1;
}
// A count as the CLI prints it: "12,345".
inline QString grouped(qint64 n) { return QLocale(QLocale::English).toString(n); }

// The figures a run prints on stderr.
inline uint64_t peakRss(const QString& stderrText) {
    const qint64 n = numberBetween(stderrText, "peak RSS ", " bytes");
    return n > 0 ? uint64_t(n) : 0;
}
inline qint64 prefillTokens(const QString& stderrText) { return numberBetween(stderrText, "prefill ", " tokens"); }
inline qint64 forwardedTokens(const QString& stderrText) {
    return numberBetween(stderrText, "engine forwarded ", " tokens");
}
// The id of the session a run saved ("session 0123456789ab (folder)").
inline QString sessionIdOf(const QString& stderrText) {
    const auto m = QRegularExpression("session ([0-9a-f]{12})").match(stderrText);
    return m.hasMatch() ? m.captured(1) : QString();
}
