#include "MainWindow.h"

#include <QAction>
#include <QHBoxLayout>
#include <QIcon>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSplitter>
#include <QStatusBar>
#include <QTextBrowser>
#include <QVBoxLayout>

#ifdef STRATA_HAVE_CUDA
#include <string>

#include "CudaDevice.h"
#endif

// Resources live in a static library, whose registration object the linker would drop unless
// something refers to it; Q_INIT_RESOURCE must be used outside any namespace.
static void initStrataResources() { Q_INIT_RESOURCE(strata); }

namespace strata::ui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("Strata"));
    setWindowIcon(appIcon());
    createMenus();
    createCentralArea();

    backendLabel_ = new QLabel(backendDescription(), this);
    backendLabel_->setObjectName(QStringLiteral("backendLabel"));
    statusBar()->addPermanentWidget(backendLabel_);
    statusBar()->showMessage(tr("Ready"));
    resize(960, 680);
}

QIcon MainWindow::appIcon() {
    initStrataResources();
    QIcon icon;
    for (int size : {32, 64, 128, 256})
        icon.addFile(QStringLiteral(":/icons/strata-%1.png").arg(size), QSize(size, size));
    icon.addFile(QStringLiteral(":/strata.svg"));
    return icon;
}

QString MainWindow::backendDescription() {
#ifdef STRATA_HAVE_CUDA
    std::string reason;
    if (cudaDeviceAvailable(&reason)) {
        auto info = cudaDeviceInfo(0);
        if (info.ok()) return tr("CUDA available: %1").arg(QString::fromStdString(info->name));
        return tr("CUDA available");
    }
#endif
    return tr("CPU backend");
}

void MainWindow::createMenus() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    quitAction_ = file->addAction(tr("&Quit"));
    quitAction_->setObjectName(QStringLiteral("actionQuit"));
    quitAction_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Q));
    quitAction_->setMenuRole(QAction::QuitRole);
    connect(quitAction_, &QAction::triggered, this, &QWidget::close);

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    aboutAction_ = help->addAction(tr("&About Strata"));
    aboutAction_->setObjectName(QStringLiteral("actionAbout"));
    aboutAction_->setMenuRole(QAction::AboutRole);
    connect(aboutAction_, &QAction::triggered, this, &MainWindow::showAbout);
}

void MainWindow::createCentralArea() {
    transcript_ = new QTextBrowser;
    transcript_->setObjectName(QStringLiteral("transcript"));
    transcript_->setReadOnly(true);
    transcript_->setOpenExternalLinks(false);
    transcript_->setHtml(tr("<h2>Strata</h2>"
                            "<p>Ask questions about long documents with language models that run on this "
                            "computer.</p>"
                            "<p>This window cannot load a model yet. To run one now, use the command line: "
                            "<code>strata-cli run</code> (see <code>strata-cli --help</code>).</p>"));

    prompt_ = new QPlainTextEdit;
    prompt_->setObjectName(QStringLiteral("promptEdit"));
    prompt_->setPlaceholderText(tr("Ask a question about your documents…"));
    prompt_->setTabChangesFocus(true);

    runButton_ = new QPushButton(tr("&Run"));
    runButton_->setObjectName(QStringLiteral("runButton"));
    runButton_->setEnabled(false);
    runButton_->setToolTip(tr("No model loaded: use strata-cli run for now"));

    auto* buttons = new QVBoxLayout;
    buttons->addWidget(runButton_);
    buttons->addStretch();

    auto* promptArea = new QWidget;
    auto* promptLayout = new QHBoxLayout(promptArea);
    promptLayout->setContentsMargins(0, 0, 0, 0);
    promptLayout->addWidget(prompt_, 1);
    promptLayout->addLayout(buttons);

    auto* splitter = new QSplitter(Qt::Vertical);
    splitter->setChildrenCollapsible(false);
    splitter->addWidget(transcript_);
    splitter->addWidget(promptArea);
    splitter->setStretchFactor(0, 4);
    splitter->setStretchFactor(1, 1);

    auto* central = new QWidget;
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(8, 8, 8, 0);
    layout->addWidget(splitter);
    setCentralWidget(central);
    prompt_->setFocus();
}

void MainWindow::showAbout() {
    QMessageBox::about(this, tr("About Strata"),
                       tr("<h3>Strata %1</h3>"
                          "<p>Local long-context analysis with large language models.</p>"
                          "<p>Compute: %2<br>Built with Qt %3.</p>")
                           .arg(QStringLiteral(STRATA_VERSION), backendDescription().toHtmlEscaped(),
                                QString::fromLatin1(QT_VERSION_STR)));
}

}  // namespace strata::ui
