// Gan.g4: the one grammar of the .gan language.
//
// A .gan file declares a GAN: imports, constants, data and noise sources, the players
// (generator, discriminator/critic) and helper functions, the game between the players and
// the training plan. Builtin ops (relu, matmul, log, ...) are plain calls resolved by sema
// against the op registry and the stdlib, never keywords here. Labelled alternatives give
// the AST builder one method per construct.
grammar Gan;

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

// `generator G(z: [100]) -> [784] { ... }`; `fn` declares a helper (layer, loss).
funcDecl    : kind=('generator' | 'discriminator' | 'critic' | 'fn') ID
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
            | ID GRID? 'every' expr                   # cadenceStmt  // sample 4x4 every 1000
            | ID expr                                 # settingStmt  // batch 128
            ;

expr        : '(' expr ')'                            # parenExpr
            | callee=ID '(' (arg (',' arg)*)? ')'     # callExpr
            | '[' (expr (',' expr)*)? ']'             # listExpr
            | '-' expr                                # negExpr
            | <assoc=right> expr '**' expr            # powExpr
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
COMMENT     : ('#' | '//') ~[\r\n]* -> skip ;
WS          : [ \t\r\n]+ -> skip ;
// Anything else is one bad character, reported by the parser with its location.
ERRCHAR     : . ;
