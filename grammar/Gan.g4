// Gan.g4: the one grammar of the .gan language.
//
// A .gan file declares a GAN: imports, constants, data and noise sources, the players
// (generator, discriminator/critic) and helper functions, the game between the players and
// the training plan. Builtin ops (relu, matmul, log, ...) are plain calls resolved by sema
// against the op registry and the stdlib, never keywords here. Labelled alternatives give
// the AST builder one method per construct.
grammar Gan;

@parser::members {
/// Whether the next token is on the line of the one before. The grammar skips newlines,
/// but each statement starts on a new line: the optional unit of `sample every 1000 steps`
/// is taken only on the line of its count, so a `steps N` setting on the next line stays
/// a setting whatever follows it (without the check, `steps N` then `seed (1)` would
/// also parse as the unit, then a setting `N seed(1)`).
bool onSameLine() { return _input->LT(1)->getLine() == _input->LT(-1)->getLine(); }
}

module      : item* EOF ;

item        : importDecl
            | constDecl
            | dataDecl
            | noiseDecl
            | funcDecl
            | gameDecl
            | trainDecl
            ;

importDecl  : 'import' dottedName ;
dottedName  : ID ('.' ID)* ;
constDecl   : 'const' ID '=' expr ;
dataDecl    : 'data' ID '~' expr ;
noiseDecl   : 'noise' ID '~' expr ;

// `generator G(z: [100]) -> [784] { ... }`; `classifier C(x: [784]) -> [10]` the one
// player of a supervised model; `fn` declares a helper (layer, loss).
funcDecl    : kind=('generator' | 'discriminator' | 'critic' | 'classifier' | 'fn') ID
              '(' (param (',' param)*)? ')' ('->' shape)? block ;
param       : ID ':' typeSpec ;
typeSpec    : shape                                   # shapeType
            | ID                                      # scalarType   // int, float
            ;
shape       : '[' (expr (',' expr)*)? ']' ;
block       : '{' stmt* '}' ;
stmt        : 'param' ID ':' shape '~' expr           # paramStmt
            | ID '=' expr                             # assignStmt
            | 'return' expr                           # returnStmt
            ;

gameDecl    : 'game' '{' gameStmt* '}' ;
gameStmt    : 'value' ID '=' expr                     # valueStmt
            | ID dir=('maximizes' | 'minimizes') expr # objectiveStmt
            ;

trainDecl   : 'train' '{' trainStmt* '}' ;
trainStmt   : 'optimize' ID 'with' expr               # optimizeStmt
            | 'schedule' ID expr (',' ID expr)*       # scheduleStmt
            | key=ID GRID? 'every' expr ({onSameLine()}? unit=ID)? # cadenceStmt // sample 4x4 every 1000 steps
            | ID expr                                 # settingStmt  // batch 128
            ;

expr        : '(' expr ')'                            # parenExpr
            | callee=ID '(' (arg (',' arg)*)? ')'     # callExpr
            | '[' (expr (',' expr)*)? ']'             # listExpr
            | <assoc=right> expr '**' expr            # powExpr    // -2 ** 2 is -(2 ** 2)
            | '-' expr                                # negExpr
            | expr op=('*' | '/') expr                # mulExpr
            | expr op=('+' | '-') expr                # addExpr
            | NUMBER                                  # numberExpr
            | STRING                                  # stringExpr
            | ID                                      # nameExpr
            ;
arg         : (ID '=')? expr ;

GRID        : [0-9]+ 'x' [0-9]+ ;
NUMBER      : [0-9]+ ('.' [0-9]*)? ([eE] [+-]? [0-9]+)?
            | '.' [0-9]+ ([eE] [+-]? [0-9]+)?
            ;
STRING      : '"' (~["\\\r\n] | '\\' .)* '"' ;
ID          : [a-zA-Z_] [a-zA-Z_0-9]* ;
// Comments go to a hidden channel: the parser never sees them, `ganc fmt` keeps them.
COMMENT     : ('#' | '//') ~[\r\n]* -> channel(HIDDEN) ;
WS          : [ \t\r\n]+ -> skip ;
// Anything else is one bad character, reported by the parser with its location.
ERRCHAR     : . ;
