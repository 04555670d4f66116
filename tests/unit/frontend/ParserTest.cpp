//===- ParserTest.cpp - .gan text to AST ----------------------------------===//
#include "frontend/Parser.h"

#include <gtest/gtest.h>

using namespace ganc;

namespace {

struct Parsed {
  SourceManager sm;
  DiagnosticEngine diags{sm};
  std::unique_ptr<ast::Module> module;
  std::string rendered;
};

std::unique_ptr<Parsed> parse(const std::string &text) {
  auto p = std::make_unique<Parsed>();
  uint32_t f = p->sm.addBuffer("test.gan", text);
  p->module = frontend::parseModule(p->sm, f, p->diags);
  for (const Diagnostic &d : p->diags.all())
    p->rendered += p->diags.render(d);
  return p;
}

const char *const kModel = R"(import std.nn
const H = 2 * 64
data  x ~ mnist("../data/mnist", scale = [0, 1])
noise z ~ uniform(-1, 1, [100])
generator G(z: [100]) -> [784] {
    h = relu(dense(z, H))
    return sigmoid(dense(h, 784))
}
critic D(x: [784]) -> [1] {
    param w: [784, 1] ~ normal(0.02)
    return matmul(x, w)
}
game {
    value V = mean(D(x)) - mean(D(G(z)))
    D maximizes V
    G minimizes -mean(D(G(z)))
}
train {
    batch 64
    optimize D with rmsprop(lr = 5e-5)
    schedule D 5, G 1
    sample 4x4 every 1000
}
)";

TEST(Parser, BuildsTheAstOfAModel) {
  auto p = parse(kModel);
  ASSERT_TRUE(p->module) << p->rendered;
  const ast::Module &m = *p->module;
  ASSERT_EQ(m.imports.size(), 1u);
  EXPECT_EQ(m.imports[0].path, "std.nn");
  ASSERT_EQ(m.consts.size(), 1u);
  auto *h = ast::dynCast<ast::BinaryExpr>(m.consts[0].value.get());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->op, "*");
  ASSERT_EQ(m.sources.size(), 2u);
  EXPECT_FALSE(m.sources[0].isNoise);
  EXPECT_TRUE(m.sources[1].isNoise);

  ASSERT_EQ(m.funcs.size(), 2u);
  const ast::FuncDecl &g = *m.funcs[0];
  EXPECT_EQ(g.kind, ast::FuncKind::Generator);
  EXPECT_EQ(g.params.at(0).name, "z");
  ASSERT_EQ(g.body.size(), 2u);
  EXPECT_EQ(g.body[0].kind, ast::Stmt::Kind::Assign);
  EXPECT_EQ(g.body[1].kind, ast::Stmt::Kind::Return);
  const ast::FuncDecl &d = *m.funcs[1];
  EXPECT_EQ(d.kind, ast::FuncKind::Discriminator);
  EXPECT_EQ(d.keyword, "critic");
  EXPECT_EQ(d.body[0].kind, ast::Stmt::Kind::Param);
  EXPECT_EQ(d.body[0].shape.dims.size(), 2u);

  ASSERT_EQ(m.game.size(), 3u);
  EXPECT_TRUE(m.game[0].isValue);
  EXPECT_TRUE(m.game[1].maximizes);
  EXPECT_FALSE(m.game[2].maximizes);

  ASSERT_EQ(m.train.size(), 4u);
  EXPECT_EQ(m.train[1].kind, ast::TrainStmt::Kind::Optimize);
  EXPECT_EQ(m.train[2].players.size(), 2u);
  EXPECT_EQ(m.train[3].grid, "4x4");
}

TEST(Parser, LocationsPointAtTheSource) {
  auto p = parse(kModel);
  ASSERT_TRUE(p->module);
  const ast::FuncDecl &g = *p->module->funcs[0];
  LineCol lc = p->sm.lineCol(g.nameRange.begin);
  EXPECT_EQ(lc.line, 5u);
  EXPECT_EQ(lc.col, 11u);
  auto *call = ast::dynCast<ast::CallExpr>(g.body[0].value.get());
  ASSERT_TRUE(call);
  EXPECT_EQ(call->callee, "relu");
  lc = p->sm.lineCol(call->loc());
  EXPECT_EQ(lc.line, 6u);
  EXPECT_EQ(lc.col, 9u);
}

TEST(Parser, OperatorPrecedence) {
  auto p = parse("const a = 1 + 2 * 3 ** 2\n");
  ASSERT_TRUE(p->module) << p->rendered;
  auto *add = ast::dynCast<ast::BinaryExpr>(p->module->consts[0].value.get());
  ASSERT_TRUE(add);
  EXPECT_EQ(add->op, "+");
  auto *mul = ast::dynCast<ast::BinaryExpr>(add->rhs.get());
  ASSERT_TRUE(mul);
  EXPECT_EQ(mul->op, "*");
  auto *pow = ast::dynCast<ast::BinaryExpr>(mul->rhs.get());
  ASSERT_TRUE(pow);
  EXPECT_EQ(pow->op, "**");
}

// As in Python and mathematics: -2 ** 2 is -(2 ** 2), and ** takes a negated exponent.
TEST(Parser, UnaryMinusBindsLooserThanPower) {
  auto p = parse("const a = -2 ** 2\nconst b = 2 ** -1\nconst c = -x * y\n");
  ASSERT_TRUE(p->module) << p->rendered;
  auto *neg = ast::dynCast<ast::UnaryExpr>(p->module->consts[0].value.get());
  ASSERT_TRUE(neg);
  auto *pow = ast::dynCast<ast::BinaryExpr>(neg->operand.get());
  ASSERT_TRUE(pow);
  EXPECT_EQ(pow->op, "**");

  pow = ast::dynCast<ast::BinaryExpr>(p->module->consts[1].value.get());
  ASSERT_TRUE(pow);
  EXPECT_EQ(pow->op, "**");
  EXPECT_TRUE(ast::dynCast<ast::UnaryExpr>(pow->rhs.get()));

  auto *mul = ast::dynCast<ast::BinaryExpr>(p->module->consts[2].value.get());
  ASSERT_TRUE(mul);
  EXPECT_EQ(mul->op, "*");
  EXPECT_TRUE(ast::dynCast<ast::UnaryExpr>(mul->lhs.get()));
}

// `every N steps` (DESIGN.md's spelling) ends the statement; a `steps` setting on the
// next line stays a setting.
TEST(Parser, CadenceTakesTrailingSteps) {
  auto p = parse("train {\n    sample 4x4 every 1000 steps\n    checkpoint every 5000 steps\n"
                 "    log every 100\n    steps 5000\n    sample every 10\n    steps 20\n}\n");
  ASSERT_TRUE(p->module) << p->rendered;
  const auto &t = p->module->train;
  ASSERT_EQ(t.size(), 6u);
  using K = ast::TrainStmt::Kind;
  EXPECT_EQ(t[0].kind, K::Cadence);
  EXPECT_EQ(t[0].key, "sample");
  EXPECT_EQ(t[0].grid, "4x4");
  EXPECT_EQ(t[1].kind, K::Cadence);
  EXPECT_EQ(t[1].key, "checkpoint");
  EXPECT_EQ(t[2].kind, K::Cadence);
  EXPECT_EQ(t[3].kind, K::Setting);
  EXPECT_EQ(t[3].key, "steps");
  EXPECT_EQ(t[4].kind, K::Cadence);
  EXPECT_EQ(t[5].kind, K::Setting);
  EXPECT_EQ(t[5].key, "steps");
}

// Only the word `steps` may follow the interval, and only on its line.
TEST(Parser, CadenceRejectsOtherTrailingWords) {
  auto p = parse("train {\n    sample every 1000 stesp\n}\n");
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->rendered.find("test.gan:2:23: error: expected 'steps' or the end of the line after "
                             "the interval of 'sample', got 'stesp'\n"
                             "    sample every 1000 stesp\n                      ^~~~~\n"),
            std::string::npos)
      << p->rendered;

  p = parse("train {\n    sample every 1000\n    steps\n}\n");
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->rendered.find("test.gan:3:5: error: syntax error"), std::string::npos) << p->rendered;
}

TEST(Parser, SyntaxErrorHasLineColumnAndCaret) {
  auto p = parse("generator G(z: [100]) -> [784] {\n    h = relu(dense(z, 128)\n    return h\n}\n");
  EXPECT_FALSE(p->module);
  ASSERT_GE(p->diags.errorCount(), 1u);
  EXPECT_EQ(p->rendered.rfind("test.gan:3:5: error: syntax error:", 0), 0u) << p->rendered;
  EXPECT_NE(p->rendered.find("\n    return h\n    ^~~~~~\n"), std::string::npos) << p->rendered;
}

TEST(Parser, BadCharacterIsReported) {
  auto p = parse("const a = 3 $ 4\n");
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->rendered.find("test.gan:1:13: error: syntax error"), std::string::npos) << p->rendered;
}

TEST(Parser, ReportsSeveralErrors) {
  auto p = parse("const a = (1\nconst b = 2 +\nconst c = 3\n");
  EXPECT_FALSE(p->module);
  EXPECT_GE(p->diags.errorCount(), 2u) << p->rendered;
}

TEST(Parser, UnexpectedEndOfFile) {
  auto p = parse("game {\n    D maximizes mean(x)\n");
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->rendered.find("end of file"), std::string::npos) << p->rendered;
  EXPECT_EQ(p->rendered.find("<EOF>"), std::string::npos) << p->rendered;
}

// ANTLR lists <EOF> among the tokens it expected; the message says "end of file".
TEST(Parser, EndOfFileInExpectedTokens) {
  auto p = parse("const a = 1\n}\n");
  EXPECT_FALSE(p->module);
  EXPECT_NE(p->rendered.find("expecting {end of file, 'import'"), std::string::npos) << p->rendered;
  EXPECT_EQ(p->rendered.find("<EOF>"), std::string::npos) << p->rendered;
}

} // namespace
