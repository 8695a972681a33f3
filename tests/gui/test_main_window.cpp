// The main window without a model: title, icon, menus, shortcuts, and Run disabled until a model is loaded.
#include <QtTest>

#include <QAction>
#include <QFile>
#include <QMenu>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStatusBar>
#include <QLabel>
#include <QTextBrowser>

#include "MainWindow.h"

using strata::ui::MainWindow;

namespace {

QStringList menuTitles(QMenuBar* bar) {
    QStringList titles;
    for (QAction* a : bar->actions()) titles << a->text().remove(QLatin1Char('&'));
    return titles;
}

QMenu* menuNamed(QMenuBar* bar, const QString& title) {
    for (QAction* a : bar->actions())
        if (a->text().remove(QLatin1Char('&')) == title) return a->menu();
    return nullptr;
}

}  // namespace

class TestMainWindow : public QObject {
    Q_OBJECT

private slots:
    void titleAndIcon() {
        MainWindow w;
        QCOMPARE(w.windowTitle(), QStringLiteral("Strata"));
        QVERIFY(!w.windowIcon().isNull());
        QVERIFY(!MainWindow::appIcon().pixmap(64, 64).isNull());
    }

    void menus() {
        MainWindow w;
        QCOMPARE(menuTitles(w.menuBar()), (QStringList{QStringLiteral("File"), QStringLiteral("Job"), QStringLiteral("View"),
                                                       QStringLiteral("Help")}));

        QMenu* file = menuNamed(w.menuBar(), QStringLiteral("File"));
        QVERIFY(file);
        // Every item in the menu must do something: no disabled placeholders.
        for (QAction* a : file->actions())
            if (!a->isSeparator()) QVERIFY2(a->isEnabled(), qPrintable(a->text() + " is disabled"));

        auto* quit = w.findChild<QAction*>(QStringLiteral("actionQuit"));
        QVERIFY(quit);
        QVERIFY(file->actions().contains(quit));
        QCOMPARE(quit->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Q));

        QMenu* help = menuNamed(w.menuBar(), QStringLiteral("Help"));
        QVERIFY(help);
        auto* about = w.findChild<QAction*>(QStringLiteral("actionAbout"));
        QVERIFY(about);
        QVERIFY(help->actions().contains(about));
        QCOMPARE(about->text().remove(QLatin1Char('&')), QStringLiteral("About Strata"));
    }

    void quitClosesTheWindow() {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        w.findChild<QAction*>(QStringLiteral("actionQuit"))->trigger();
        QVERIFY(!w.isVisible());
    }

    void centralArea() {
        MainWindow w;
        auto* transcript = w.findChild<QTextBrowser*>(QStringLiteral("transcript"));
        QVERIFY(transcript);
        QVERIFY(transcript->isReadOnly());
        QVERIFY(transcript->toPlainText().contains(QStringLiteral("Drop documents")));

        auto* prompt = w.findChild<QPlainTextEdit*>(QStringLiteral("promptEdit"));
        QVERIFY(prompt);
        QVERIFY(!prompt->isReadOnly());

        auto* run = w.findChild<QPushButton*>(QStringLiteral("runButton"));
        QVERIFY(run);
        QVERIFY(!run->isEnabled());
        QCOMPARE(run->toolTip(), QStringLiteral("No model loaded: choose one in the toolbar"));
        auto* run2 = w.findChild<QAction*>(QStringLiteral("actionRun"));
        QVERIFY(run2 && !run2->isEnabled());
        QCOMPARE(run2->shortcut(), QKeySequence(Qt::CTRL | Qt::Key_Return));
        auto* cancel = w.findChild<QPushButton*>(QStringLiteral("cancelButton"));
        QVERIFY(cancel && !cancel->isEnabled());
    }

    void statusBarNamesTheBackend() {
        MainWindow w;
        auto* label = w.statusBar()->findChild<QLabel*>(QStringLiteral("backendLabel"));
        QVERIFY(label);
        QCOMPARE(label->text(), MainWindow::backendDescription());
        QVERIFY(label->text() == QStringLiteral("CPU backend") || label->text().startsWith(QStringLiteral("CUDA available")));
    }

    void sampleDocumentIsEmbedded() {
        MainWindow w;  // registers the resources
        QFile sample(QStringLiteral(":/samples/sample-report.txt"));
        QVERIFY(sample.open(QIODevice::ReadOnly));
        QVERIFY(sample.readAll().contains("INCIDENT REPORT"));
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
